// Command bare is the floor Ferry's idle memory is measured against: it
// links the same packages as cmd/ferry (their init functions run, their
// globals are allocated) and then does nothing until SIGINT or SIGTERM.
// ferry-bench reports Ferry's idle RSS minus this program's.
package main

import (
	"os"
	"os/signal"
	"syscall"

	// The imports of cmd/ferry, kept in step by hand.
	_ "github.com/ferrybridge/ferry/bridge"
	_ "github.com/ferrybridge/ferry/bridge/config"
	_ "github.com/ferrybridge/ferry/bridge/network"
	_ "github.com/ferrybridge/ferry/irc"
	// and whatsapp, unless built without it (whatsapp.go)

	_ "github.com/ferrybridge/ferry/cmd/ferry-bench/bare/probe"
)

func main() {
	c := make(chan os.Signal, 1)
	signal.Notify(c, os.Interrupt, syscall.SIGTERM)
	<-c
}
