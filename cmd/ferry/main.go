// Command ferry runs the Ferry bridge: one Matrix application service for
// WhatsApp and IRC.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"github.com/ferrybridge/ferry/bridge"
	"github.com/ferrybridge/ferry/bridge/config"
	"github.com/ferrybridge/ferry/bridge/network"
	"github.com/ferrybridge/ferry/irc"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr, nil))
}

// run is main with its outputs and stop signal injectable for tests; a nil
// stop waits for SIGINT or SIGTERM.
func run(args []string, stdout, stderr io.Writer, stop <-chan struct{}) int {
	// First: reading the config already allocates enough to collect.
	restoreGC := relaxStartupGC()
	defer restoreGC() // if the bridge stops before its start settles
	flags := flag.NewFlagSet("ferry", flag.ContinueOnError)
	flags.SetOutput(stderr)
	configPath := flags.String("c", "config.yaml", "path to the config file")
	generate := flags.Bool("g", false, "generate the appservice registration (and tokens in the config file), then exit")
	registrationPath := flags.String("r", "registration.yaml", "where -g writes the registration")
	showVersion := flags.Bool("version", false, "print the version and exit")
	flags.Usage = func() {
		fmt.Fprintf(stderr, "Usage:\n  ferry -c config.yaml                        run the bridge\n  ferry -g -c config.yaml -r registration.yaml  write the appservice registration\n  ferry --version\n\nFlags:\n")
		flags.PrintDefaults()
	}
	if err := flags.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	if flags.NArg() > 0 {
		fmt.Fprintf(stderr, "ferry: unexpected arguments: %v\n", flags.Args())
		return 2
	}
	if *showVersion {
		fmt.Fprintf(stdout, "ferry %s\n", bridge.Version)
		return 0
	}
	if *generate {
		instructions, err := config.GenerateRegistration(*configPath, *registrationPath, ghostNetworks, aliasNetworks)
		if err != nil {
			fmt.Fprintf(stderr, "ferry: %v\n", err)
			return 1
		}
		fmt.Fprintf(stdout, "Wrote %s and stored the tokens in %s.\n%s\n", *registrationPath, *configPath, instructions)
		return 0
	}
	cfg, err := config.Load(*configPath, configSections)
	if err == nil {
		err = cfg.Validate(true)
	}
	if err != nil {
		fmt.Fprintf(stderr, "ferry: invalid config %s:\n%v\n", *configPath, err)
		return 1
	}
	log, err := cfg.Logging.Logger(stderr)
	if err != nil {
		fmt.Fprintf(stderr, "ferry: %v\n", err)
		return 1
	}
	bridge.ReleaseCMemory = releaseCMemory
	bridge.StartupGCDone = restoreGC
	b, err := bridge.New(cfg, connectors(), log)
	if err != nil {
		log.Error().Err(err).Msg("Failed to initialise")
		return 1
	}
	if err = b.Start(); err != nil {
		log.Error().Err(err).Msg("Failed to start")
		b.Stop()
		return 1
	}
	log.Info().Str("version", bridge.Version).Msg("Ferry is running")
	if stop == nil {
		ctx, cancel := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
		defer cancel()
		<-ctx.Done()
	} else {
		<-stop
	}
	log.Info().Msg("Shutting down")
	b.Stop()
	return 0
}

// The networks Ferry knows. Their namespaces are in the registration from
// the start, so that enabling a network later needs no new registration,
// and a build without WhatsApp (whatsapp_off.go) writes the same
// registration as a full one.
var (
	ghostNetworks  = []network.NetworkID{"whatsapp", "irc"}
	aliasNetworks  = []network.NetworkID{"irc"}
	configSections = ghostNetworks
)

// connectors are the networks this build runs.
func connectors() []network.Connector {
	return append(whatsappConnectors(), irc.New())
}
