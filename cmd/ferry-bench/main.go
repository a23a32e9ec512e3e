// Command ferry-bench measures Ferry end to end through real servers on
// loopback: a Dendrite homeserver, an InspIRCd IRC server and Ferry built
// from the tree, run as a separate process. See scripts/bench.sh.
//
//	go run ./cmd/ferry-bench -scenario irc-to-matrix [-n 200] [-interval 20ms] [-json out.json]
//	go run ./cmd/ferry-bench -scenario matrix-to-irc [-n 200] [-interval 20ms] [-bursts 5]
//	go run ./cmd/ferry-bench -scenario throughput -channels 4 [-n 200] [-interval 20ms]
//	go run ./cmd/ferry-bench -scenario busy-join [-members 200]
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"
	"time"
)

// settings are every knob of a run; all are printed with the results.
type settings struct {
	Scenario      string        `json:"scenario"`
	N             int           `json:"n"`
	Bursts        int           `json:"bursts"`
	Interval      time.Duration `json:"interval_ns"`
	IntervalText  string        `json:"interval"`
	DrainTimeout  time.Duration `json:"drain_timeout_ns"`
	Channels      int           `json:"channels"`
	Members       int           `json:"members,omitempty"`
	FerryFlood    string        `json:"ferry_irc_flood"`
	PipelineSends bool          `json:"ferry_pipeline_sends"`
	FerryMetrics  string        `json:"ferry_metrics_listen"`
	Observer      string        `json:"dendrite_push_observer"`
	TapOn         bool          `json:"-"`
	Tap           string        `json:"dendrite_to_ferry_tap"`
	FerryLogLevel string        `json:"ferry_log_level"`
	FerryDB       string        `json:"ferry_database"`
	FerryEnv      []string      `json:"ferry_env,omitempty"`
	FerryTags     string        `json:"ferry_build_tags,omitempty"`
	DendriteLog   string        `json:"dendrite_log_level"`
	DendriteJS    string        `json:"dendrite_jetstream"`
	DendriteConf  string        `json:"dendrite_config"`
	IRCdFlood     string        `json:"inspircd_flood"`
	IRCdConnLimit int           `json:"inspircd_conns_per_ip"`
	PeerFlood     string        `json:"peer_flood"`
	SyncFilter    string        `json:"sync_filter"`

	// HomeserverAlone is irc-to-matrix's baseline: the same bursts sent
	// by a Matrix client, with no Ferry (homeserver_alone.go): ordered,
	// concurrent, or empty for none.
	HomeserverAlone string `json:"homeserver_alone_baseline,omitempty"`
	// Observe registers the observer in every latency scenario (-observe).
	Observe bool `json:"-"`
}

// ferryTags is -ferry-tags.
var ferryTags string

// goBuild is "go build" with -ferry-tags, then args.
func goBuild(args ...string) []string {
	if ferryTags == "" {
		return append([]string{"build"}, args...)
	}
	return append([]string{"build", "-tags", ferryTags}, args...)
}

func main() {
	var s settings
	flag.StringVar(&s.Scenario, "scenario", "irc-to-matrix", "what to measure: irc-to-matrix, matrix-to-irc, throughput (both ways over -channels), busy-join (joining a channel of -members), memory, startup, idle-cpu, idle-faults (where the pages of Ferry with no users come from; needs perf)")
	flag.IntVar(&s.N, "n", 200, "messages per burst")
	flag.IntVar(&s.Bursts, "bursts", 1, "bursts to run, one after the other in the same test bed; with several, percentiles are over all their messages and each burst's own figures are listed")
	flag.DurationVar(&s.Interval, "interval", 20*time.Millisecond, "pause between two messages of a burst")
	flag.DurationVar(&s.DrainTimeout, "drain-timeout", 60*time.Second, "how long to wait for the last message after the burst was sent")
	flag.StringVar(&s.FerryLogLevel, "ferry-log", "warn", "Ferry's log level")
	flag.BoolVar(&s.TapOn, "tap", false, "route Dendrite's pushes to Ferry through a recording proxy, to time them per message (one extra loopback hop, and a process that competes with Ferry for the processors, which raises Ferry's share)")
	flag.IntVar(&s.Members, "members", 200, "busy-join: clients in the channel besides the one who speaks first")
	flag.IntVar(&s.Channels, "channels", 0, "bridged channels (default: 4 for throughput, else 1)")
	flag.StringVar(&s.FerryFlood, "ferry-flood", "unlimited", "Ferry's IRC flood control (YAML: unlimited, or {rate: 2s, burst: 5}); it must permit the burst")
	flag.StringVar(&s.HomeserverAlone, "homeserver-alone", aloneOrdered, "irc-to-matrix: after each of Ferry's bursts, another local user sends the same burst into rooms it shares with the Matrix client, with no Ferry: what the homeserver alone drains on this machine. ordered (each message after the last one's answer, as a bridge sends), concurrent (each when due), or off")
	flag.BoolVar(&s.Observe, "observe", false, "register the push observer (a second appservice that Dendrite pushes every room event to) in irc-to-matrix too: what pushing each event to an appservice costs the homeserver, which it pays for every event Ferry sends, shows in the homeserver-alone baseline")
	flag.BoolVar(&s.PipelineSends, "pipeline-sends", true, "Ferry's homeserver.pipeline_sends: a room writes its next event before the last is answered")
	flag.StringVar(&ferryTags, "ferry-tags", "", "build tags for Ferry (and the bare programs), e.g. ferry_no_whatsapp for a build that bridges IRC only")
	flag.StringVar(&configsDir, "configs", "", "copy the configuration files InspIRCd, Dendrite and Ferry ran with into this directory (their tokens and keys are the run's own, useless once it ends)")
	jsonOut := flag.String("json", "", "also write the results as JSON to this file")
	keep := flag.Bool("keep", false, "keep the work directory (configs, logs, databases) after the run")
	flag.Parse()
	if isMemScenario(s.Scenario) { // memory, startup, idle-cpu: memory.go
		os.Exit(runMemScenario(s.Scenario, *keep, *jsonOut))
	}
	s.IntervalText = s.Interval.String()
	s.FerryTags = ferryTags
	switch {
	case s.Scenario != "irc-to-matrix" || s.HomeserverAlone == aloneOff:
		s.HomeserverAlone = ""
	case s.HomeserverAlone != aloneOrdered && s.HomeserverAlone != aloneConcurrent:
		fatalf("-homeserver-alone must be %s, %s or %s", aloneOrdered, aloneConcurrent, aloneOff)
	}
	if s.N <= 0 || s.Bursts <= 0 {
		fatalf("-n and -bursts must be positive")
	}
	switch s.Scenario {
	case "irc-to-matrix", "matrix-to-irc":
		s.Channels = max(s.Channels, 1)
	case "busy-join":
		s.Channels = 1
		if s.Members <= 0 {
			fatalf("-members must be positive")
		}
	case "throughput":
		if s.Channels <= 0 {
			s.Channels = 4
		}
	default:
		fatalf("unknown -scenario %q (this version has: irc-to-matrix, matrix-to-irc, throughput, busy-join, memory, startup, idle-cpu, idle-faults)", s.Scenario)
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	rep, err := run(ctx, &s, *keep)
	if err != nil {
		fatalf("%v", err)
	}
	printReport(os.Stdout, rep)
	if *jsonOut != "" {
		data, err := json.MarshalIndent(rep, "", "  ")
		if err == nil {
			err = os.WriteFile(*jsonOut, append(data, '\n'), 0o644)
		}
		if err != nil {
			fatalf("write %s: %v", *jsonOut, err)
		}
		say("results written to %s", *jsonOut)
	}
	for _, r := range rep.Results {
		// The baseline sends concurrently, so its order is not Ferry's
		// to keep; its counts are in the report.
		if !r.OK && r.Direction != homeserverAloneDirection {
			os.Exit(2)
		}
	}
}

func say(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "ferry-bench: "+format+"\n", args...)
}

func fatalf(format string, args ...any) {
	say(format, args...)
	os.Exit(1)
}

func run(ctx context.Context, s *settings, keep bool) (*report, error) {
	machine := describeMachine()
	env, err := startEnv(ctx, s, keep)
	if env != nil {
		defer env.close()
	}
	if err != nil {
		return nil, err
	}
	machine.DendriteVersion = env.dendriteVersion
	machine.InspIRCdVersion = env.inspircdVersion
	rep := &report{Machine: machine, Settings: *s}
	if s.Scenario == "busy-join" {
		rep.BusyJoin, err = runBusyJoin(ctx, env, s)
	} else {
		rep.Results, err = runScenario(ctx, env, s)
	}
	if err != nil {
		return nil, err
	}
	return rep, nil
}
