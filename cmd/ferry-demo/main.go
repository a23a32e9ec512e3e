// Command ferry-demo brings up a local Matrix homeserver (Dendrite) with
// Ferry registered on it, creates a Matrix account to try it with, and runs
// Ferry, so that a newcomer without a homeserver can see the bridge work.
// Everything lives in ./.demo and is recreated at every start.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"syscall"
	"time"

	"github.com/ferrybridge/ferry/internal/localhs"
)

func main() {
	dir := flag.String("dir", ".demo", "where the demo keeps its homeserver, config and database (wiped at start)")
	port := flag.Int("port", 8008, "homeserver port on 127.0.0.1 (another free port is used when taken)")
	flag.Parse()
	if err := run(*dir, *port); err != nil {
		fmt.Fprintf(os.Stderr, "ferry-demo: %v\n", err)
		os.Exit(1)
	}
}

func say(format string, args ...any) { fmt.Printf("ferry-demo: "+format+"\n", args...) }

func run(dir string, hsPort int) error {
	dir, err := filepath.Abs(dir)
	if err != nil {
		return err
	}
	if err = os.RemoveAll(dir); err != nil {
		return err
	}
	if err = os.MkdirAll(filepath.Join(dir, "dendrite"), 0o700); err != nil {
		return err
	}
	if !portFree(hsPort) {
		if hsPort, err = localhs.FreePort(); err != nil {
			return err
		}
	}
	ferryPort, err := localhs.FreePort()
	if err != nil {
		return err
	}

	say("building ferry")
	ferryBin := filepath.Join(dir, "ferry")
	build := exec.Command("go", "build", "-o", ferryBin, "./cmd/ferry")
	build.Stdout, build.Stderr = os.Stdout, os.Stderr
	if err = build.Run(); err != nil {
		return fmt.Errorf("build ferry (run this from the repository root): %w", err)
	}

	cfgPath := filepath.Join(dir, "config.yaml")
	regPath := filepath.Join(dir, "registration.yaml")
	if err = os.WriteFile(cfgPath, []byte(localhs.FerryConfig{
		Header: "Written by ferry-demo; see config.example.yaml for every option.", HomeserverPort: hsPort, FerryPort: ferryPort, Dir: dir,
	}.YAML()), 0o600); err != nil {
		return err
	}
	gen := exec.Command(ferryBin, "-g", "-c", cfgPath, "-r", regPath)
	gen.Stderr = os.Stderr
	if out, err := gen.Output(); err != nil {
		return fmt.Errorf("ferry -g: %w\n%s", err, out)
	}

	say("starting Dendrite on 127.0.0.1:%d", hsPort)
	hs, err := localhs.NewDendrite(filepath.Join(dir, "dendrite"), localhs.DendriteOptions{
		RegistrationFiles: []string{regPath}, Port: hsPort, PersistentJetStream: true,
	}, func(format string, args ...any) { say(format, args...) })
	if err != nil {
		return err
	}
	if err = hs.Start(); err != nil {
		return err
	}
	defer hs.Stop()
	password := localhs.RandomHex(8)
	user, err := hs.RegisterUser("demo", password, true)
	if err != nil {
		return err
	}

	ferry := exec.Command(ferryBin, "-c", cfgPath)
	ferry.Stdout, ferry.Stderr = os.Stdout, os.Stderr
	ferry.SysProcAttr = localhs.ChildProcAttr()
	if err = ferry.Start(); err != nil {
		return fmt.Errorf("start ferry: %w", err)
	}
	exited := make(chan error, 1)
	go func() { exited <- ferry.Wait() }()
	time.Sleep(500 * time.Millisecond)

	fmt.Printf(`
────────────────────────────────────────────────────────────────────
 Ferry is running on a local homeserver. To try it:

   homeserver  %s
   user        %s
   password    %s

 Log in with any Matrix client (for Element, choose "Edit" next to the
 homeserver and enter the address above), start a direct chat with
 @ferry:localhost and send "help".

 Press Ctrl-C to stop. Everything is in %s.
────────────────────────────────────────────────────────────────────
`, hs.URL, user.UserID, password, dir)

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	select {
	case <-ctx.Done():
		say("stopping")
		_ = ferry.Process.Signal(syscall.SIGTERM)
		<-exited
		return nil
	case err := <-exited:
		return fmt.Errorf("ferry exited: %v", err)
	}
}

func portFree(port int) bool {
	free, err := localhs.PortFree(port)
	return err == nil && free
}
