package main

// The memory, startup and idle-cpu scenarios measure Ferry at rest rather
// than relaying: its RSS and Go heap with K idle IRC logins (per
// connection, plain TCP and TLS apart) and with P idle portals, its RSS
// with no users against a bare program linking the same packages, how
// fast it is up and has its logins back on IRC, and the CPU it uses
// idling. Every figure comes from a Ferry process of its own, started on
// a database seeded with exactly the logins it names.

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/ferrybridge/ferry/cmd/ferry-bench/bare/probe"
)

// memFlags are the knobs of the memory, startup and idle-cpu scenarios.
// They are registered here rather than in main.go so that the scenarios
// stay in their own files.
type memFlags struct {
	Ks         string        // -k: login counts
	Portals    int           // -portals: idle portals
	Transports string        // -transports: plain,tls
	Settle     time.Duration // -settle: wait after the last login before sampling
	GCWait     time.Duration // -gc-wait: wait after the forced GC before the second RSS sample
	MemPacing  int           // -mem-pacing: max_concurrent_connects while filling up
	Pacings    string        // -pacing: max_concurrent_connects values for startup
	IdleLogins int           // -idle-logins
	IdleWindow time.Duration // -idle-window
	Poll       time.Duration // -poll: LUSERS poll interval during startup
	ProfileDir string        // -profile: write heap/goroutine profiles here
	// RestartPortals is -restart-portals (memory_restart.go).
	RestartPortals int
	// IdlePairs and IdleCopies are -idle-pairs and -idle-copies
	// (memory_pairs.go).
	IdlePairs, IdleCopies int
	FerryEnv              string // -ferry-env: extra environment for Ferry, e.g. GOGC=50
}

var mflags memFlags

func init() {
	flag.StringVar(&mflags.Ks, "k", "100,1000", "memory/startup: idle IRC logins, comma-separated (startup default: 150)")
	flag.IntVar(&mflags.Portals, "portals", 100, "memory: idle portals (IRC channels one login is in; 0 skips)")
	flag.StringVar(&mflags.Transports, "transports", "plain,tls", "memory: IRC transports to measure")
	flag.DurationVar(&mflags.Settle, "settle", 10*time.Second, "memory/idle-cpu: wait after the last login registered before sampling")
	// The background scavenger returns freed memory to the OS gradually
	// (about 1 % of a core's time), so RSS lags a collection by seconds.
	flag.DurationVar(&mflags.GCWait, "gc-wait", 30*time.Second, "memory: wait after the forced GCs before sampling RSS again")
	flag.IntVar(&mflags.MemPacing, "mem-pacing", 0, "memory/idle-cpu: irc.max_concurrent_connects while logins connect (0: unlimited)")
	flag.StringVar(&mflags.Pacings, "pacing", "0,4", "startup: irc.max_concurrent_connects values to run (0: unlimited; 4: the default)")
	flag.IntVar(&mflags.IdleLogins, "idle-logins", 200, "idle-cpu: idle IRC logins")
	// Longer than Ferry's keepalive (a PING after 90 s of silence),
	// InspIRCd's pingfreq (120 s) and the runtime's forced GC (2 min), so
	// that the window holds what an idle bridge really does.
	flag.DurationVar(&mflags.IdleWindow, "idle-window", 150*time.Second, "idle-cpu: measuring window")
	flag.DurationVar(&mflags.Poll, "poll", 5*time.Millisecond, "startup: LUSERS poll interval")
	flag.IntVar(&mflags.RestartPortals, "restart-portals", 50, "startup: then restart Ferry with this many logins, each in a channel with its portal, and time until every portal bridges again (0 skips)")
	flag.IntVar(&mflags.IdlePairs, "idle-pairs", 5, "memory: start bare-ferry and Ferry with no logins this many times each and take the median of the RSS differences (the first pair is broken down in full)")
	flag.IntVar(&mflags.IdleCopies, "idle-copies", 3, "memory: then as many pairs more, each from a fresh copy of the binary, which the kernel maps page by page rather than in 2 MiB pieces (0 skips)")
	flag.StringVar(&mflags.FerryEnv, "ferry-env", "", "extra environment for the Ferry processes, comma-separated NAME=value (e.g. GOGC=50), to try runtime settings")
	flag.StringVar(&mflags.ProfileDir, "profile", "", "memory/idle-cpu: save Ferry's heap and goroutine profiles (and a CPU profile of the idle window) into this directory")
}

// isMemScenario reports whether name is one of this file's scenarios.
func isMemScenario(name string) bool {
	return name == "memory" || name == "startup" || name == "idle-cpu" || name == "idle-faults"
}

// memSettings is everything a run of these scenarios depends on; printed
// with the results.
type memSettings struct {
	Scenario        string   `json:"scenario"`
	Ks              []int    `json:"k,omitempty"`
	Portals         int      `json:"portals,omitempty"`
	Transports      []string `json:"transports,omitempty"`
	Settle          string   `json:"settle,omitempty"`
	GCWait          string   `json:"gc_wait,omitempty"`
	FillPacing      string   `json:"fill_pacing,omitempty"`
	StartupPacings  []int    `json:"startup_pacings,omitempty"`
	IdleLogins      int      `json:"idle_logins,omitempty"`
	IdleWindow      string   `json:"idle_window,omitempty"`
	Poll            string   `json:"lusers_poll,omitempty"`
	RestartPortals  int      `json:"restart_portals,omitempty"`
	IdlePairs       int      `json:"idle_pairs,omitempty"`
	IdleCopies      int      `json:"idle_copies,omitempty"`
	Seeding         string   `json:"seeding"`
	FerryBuild      string   `json:"ferry_build"`
	FerryFlood      string   `json:"ferry_irc_flood"`
	FerryLogLevel   string   `json:"ferry_log_level"`
	FerryDB         string   `json:"ferry_database"`
	IRCdFlood       string   `json:"inspircd_flood"`
	IRCdConnLimit   int      `json:"inspircd_conns_per_ip"`
	IRCdConnectOpts string   `json:"inspircd_connect_class"`
	IRCdTLS         string   `json:"inspircd_tls"`
	DendriteLog     string   `json:"dendrite_log_level"`
	GOMAXPROCS      string   `json:"gomaxprocs"`
	FerryEnv        []string `json:"ferry_env,omitempty"`
	Profiling       string   `json:"profiling,omitempty"`
}

// memReport is the whole output of one run.
type memReport struct {
	Machine  machine         `json:"machine"`
	Settings memSettings     `json:"settings"`
	Memory   *memoryResult   `json:"memory,omitempty"`
	Startup  []startupResult `json:"startup,omitempty"`
	Restart  *restartResult  `json:"restart,omitempty"`
	IdleCPU  *idleCPUResult  `json:"idle_cpu,omitempty"`
	Faults   *faultsResult   `json:"idle_faults,omitempty"`
	Targets  []targetLine    `json:"targets"`
}

// targetLine is one target of issue 5 against the measured figure.
type targetLine struct {
	What   string `json:"what"`
	Target string `json:"target"`
	Got    string `json:"measured"`
	Met    bool   `json:"met"`
}

// memSample is one process measured at rest.
type memSample struct {
	Label     string `json:"label"`
	Transport string `json:"transport,omitempty"`
	Logins    int    `json:"logins"`
	Portals   int    `json:"portals,omitempty"`
	RSS       uint64 `json:"rss_bytes"`
	RSSAnon   uint64 `json:"rss_anon_bytes"`
	RSSFile   uint64 `json:"rss_file_bytes"`
	// RSSAfterGC is VmRSS GCWait after three forced garbage collections
	// (see the probe): what collection can give back, without the
	// garbage and grown stacks the connect burst left. An idle process
	// gets a collection only every two minutes, and a run with -settle
	// 150s still showed RSS near the at-rest figure, so this is a floor,
	// not what idling reaches by itself.
	RSSAfterGC     uint64  `json:"rss_after_gc_bytes"`
	RSSAnonAfterGC uint64  `json:"rss_anon_after_gc_bytes"`
	HeapLive       uint64  `json:"heap_live_bytes"`
	HeapInuse      uint64  `json:"heap_inuse_bytes"`
	Stack          uint64  `json:"stack_bytes"`
	Goroutines     int     `json:"goroutines"`
	FillSecs       float64 `json:"fill_seconds,omitempty"`
	// Smaps is the at-rest RSS per kind of mapping, read right after
	// RSS; GoClasses the Go runtime's memory classes read right after
	// that, before the probe's forced GC (see memory_smaps.go).
	Smaps     []smapsPart   `json:"smaps,omitempty"`
	GoClasses probe.Classes `json:"go_memory_classes,omitempty"`
}

type memoryResult struct {
	// Bare is cmd/ferry-bench/bare: a program importing cmd/ferry's
	// packages (so their init functions run) and doing nothing; the
	// linker leaves out the code nothing calls. BareFerry is the Ferry
	// binary itself stopped after initialisation (see probeImport).
	Bare      memSample      `json:"bare"`
	BareFerry memSample      `json:"bare_ferry"`
	Samples   []memSample    `json:"samples"`
	PerConn   []perConnEntry `json:"per_connection"`
	// IdleAboveBare is Ferry's RSS with no logins minus the bare program's.
	IdleAboveBare        int64 `json:"idle_rss_above_bare_bytes"`
	IdleAnonAboveBare    int64 `json:"idle_rss_anon_above_bare_bytes"`
	IdleFileAboveBare    int64 `json:"idle_rss_file_above_bare_bytes"`
	IdleAboveBareAfterGC int64 `json:"idle_rss_after_gc_above_bare_bytes"`
	// The same against BareFerry.
	IdleAboveBareFerry     int64 `json:"idle_rss_above_bare_ferry_bytes"`
	IdleAnonAboveBareFerry int64 `json:"idle_rss_anon_above_bare_ferry_bytes"`
	IdleFileAboveBareFerry int64 `json:"idle_rss_file_above_bare_ferry_bytes"`
	// After the forced GCs in both: bare-ferry has then collected too
	// (stopped after init it has run one collection at most), so the
	// runtime metadata a collection leaves is on both sides.
	IdleAboveBareFerryAfterGC     int64 `json:"idle_rss_after_gc_above_bare_ferry_bytes"`
	IdleAnonAboveBareFerryAfterGC int64 `json:"idle_rss_anon_after_gc_above_bare_ferry_bytes"`
	// IdlePairs is IdleAboveBareFerry over -idle-pairs starts of both
	// (memory_pairs.go); the first pair is BareFerry and ferry-0.
	// IdleCopies is the same from fresh copies of the binary, mapped
	// page by page.
	IdlePairs  idlePairsSummary  `json:"idle_pairs"`
	IdleCopies *idlePairsSummary `json:"idle_copies,omitempty"`
	PerPortal  *perConnEntry     `json:"per_portal,omitempty"`
}

// perConnEntry is (X(K) - X(0)) / K for one transport and K.
type perConnEntry struct {
	Transport       string  `json:"transport"`
	K               int     `json:"k"`
	RSSPerConn      float64 `json:"rss_bytes_per_conn"`
	RSSAnonPerConn  float64 `json:"rss_anon_bytes_per_conn"`
	RSSFilePerConn  float64 `json:"rss_file_bytes_per_conn"`
	RSSGCPerConn    float64 `json:"rss_after_gc_bytes_per_conn"`
	HeapPerConn     float64 `json:"heap_bytes_per_conn"`
	StackPerConn    float64 `json:"stack_bytes_per_conn"`
	GoroutinesPerCo float64 `json:"goroutines_per_conn"`
}

// runMemScenario runs memory, startup, idle-cpu or idle-faults and prints
// the report; it returns the exit code.
func runMemScenario(scenario string, keep bool, jsonOut string) int {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	ks, err := parseCounts(mflags.Ks)
	if err != nil {
		fatalf("-k: %v", err)
	}
	if scenario == "startup" && !flagGiven("k") {
		ks = []int{150}
	}
	s := memSettings{
		Scenario:      scenario,
		Seeding:       "IRC login rows written into Ferry's SQLite database before it starts, through Ferry's irc login flow (Connector.StartLogin) and database package (Logins.Put), in a database with every table a bridge that has run before has (Ferry's, whatsmeow's and the WhatsApp network's); Ferry restores them as at any restart",
		FerryBuild:    "go build ./cmd/ferry from the tree, plus (through -overlay) a blank import of cmd/ferry-bench/bare/probe: a runtime-stats/pprof listener on loopback that the bare program has too",
		FerryFlood:    "unlimited (per-connection flood control off)",
		FerryLogLevel: "warn (json)",
		FerryDB:       "sqlite3-fk-wal, a fresh file per Ferry process",
		DendriteLog:   "warn",
		GOMAXPROCS:    "default (" + strconv.Itoa(describeMachine().Cores) + ")",
	}
	s.FerryEnv = ferryEnv()
	if ferryTags != "" {
		s.FerryBuild += "; with -tags " + ferryTags + " (and so is the bare program)"
	}
	maxK := 0
	switch scenario {
	case "memory":
		s.Ks = ks
		s.Portals = mflags.Portals
		s.Transports = strings.Split(mflags.Transports, ",")
		s.Settle = mflags.Settle.String()
		s.GCWait = mflags.GCWait.String()
		s.FillPacing = pacingText(mflags.MemPacing)
		if mflags.IdlePairs < 1 {
			fatalf("-idle-pairs: %d is not a count of pairs", mflags.IdlePairs)
		}
		s.IdlePairs = mflags.IdlePairs
		s.IdleCopies = max(mflags.IdleCopies, 0)
		for _, k := range ks {
			maxK = max(maxK, k)
		}
	case "startup":
		s.Ks = ks
		if s.StartupPacings, err = parseCounts(mflags.Pacings); err != nil {
			fatalf("-pacing: %v", err)
		}
		s.Poll = mflags.Poll.String()
		s.RestartPortals = mflags.RestartPortals
		maxK = mflags.RestartPortals
		for _, k := range ks {
			maxK = max(maxK, k)
		}
	case "idle-cpu":
		s.IdleLogins = mflags.IdleLogins
		s.IdleWindow = mflags.IdleWindow.String()
		s.Settle = mflags.Settle.String()
		s.FillPacing = pacingText(mflags.MemPacing)
		maxK = mflags.IdleLogins
	case "idle-faults":
		s.Settle = mflags.Settle.String()
	}
	if mflags.ProfileDir != "" {
		if err := os.MkdirAll(mflags.ProfileDir, 0o755); err != nil {
			fatalf("-profile: %v", err)
		}
		s.Profiling = "on (-profile " + mflags.ProfileDir + "): every allocation is recorded, which inflates RSS; compare RSS only between runs without it"
	}

	rep := &memReport{Machine: describeMachine()}
	bed, err := startMemBed(ctx, maxK, keep)
	if bed != nil {
		defer bed.close()
	}
	if err != nil {
		say("%v", err)
		return 1
	}
	rep.Machine.DendriteVersion = bed.dendriteVersion
	rep.Machine.InspIRCdVersion = bed.inspircdVersion
	s.IRCdConnLimit = bed.ircdConns
	s.IRCdFlood = "off: threshold 1000000, commandrate 100000000, fakelag no, recvq 1M, softsendq 1M, hardsendq 64M"
	s.IRCdConnectOpts = bed.ircdLimits()
	s.IRCdTLS = "ssl_gnutls, self-signed ECDSA P-256 (Ferry: tls_insecure)"
	rep.Settings = s

	switch scenario {
	case "memory":
		err = bed.memoryScenario(ctx, rep, ks, s.Transports)
	case "startup":
		err = bed.startupScenario(ctx, rep, ks, s.StartupPacings)
		if err == nil && s.RestartPortals > 0 {
			err = bed.restartScenario(ctx, rep, s.RestartPortals)
		}
	case "idle-cpu":
		err = bed.idleCPUScenario(ctx, rep)
	case "idle-faults":
		err = bed.idleFaultsScenario(ctx, rep)
	}
	if err != nil {
		say("%v", err)
		return 1
	}
	printMemReport(os.Stdout, rep)
	if jsonOut != "" {
		data, err := json.MarshalIndent(rep, "", "  ")
		if err == nil {
			err = os.WriteFile(jsonOut, append(data, '\n'), 0o644)
		}
		if err != nil {
			say("write %s: %v", jsonOut, err)
			return 1
		}
		say("results written to %s", jsonOut)
	}
	return 0
}

func pacingText(n int) string {
	if n == 0 {
		return "irc.max_concurrent_connects 0 (no connect pacing)"
	}
	return fmt.Sprintf("irc.max_concurrent_connects %d", n)
}

func flagGiven(name string) bool {
	set := false
	flag.Visit(func(f *flag.Flag) { set = set || f.Name == name })
	return set
}

func parseCounts(list string) ([]int, error) {
	var out []int
	for _, f := range strings.Split(list, ",") {
		if f = strings.TrimSpace(f); f == "" {
			continue
		}
		n, err := strconv.Atoi(f)
		if err != nil || n < 0 {
			return nil, fmt.Errorf("%q is not a count", f)
		}
		out = append(out, n)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("empty list")
	}
	return out, nil
}
