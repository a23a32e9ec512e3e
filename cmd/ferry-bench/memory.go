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
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/rs/zerolog"
	"maunium.net/go/mautrix/id"

	"github.com/ferrybridge/ferry/cmd/ferry-bench/bare/probe"
	"github.com/ferrybridge/ferry/database"
	"github.com/ferrybridge/ferry/internal/localhs"
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
	return name == "memory" || name == "startup" || name == "idle-cpu"
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

// runMemScenario runs memory, startup or idle-cpu and prints the report;
// it returns the exit code.
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

// fill starts Ferry on a database seeded with n logins on netName and
// returns once InspIRCd counts all of them (and the time that took).
func (b *memBed) fill(ctx context.Context, label, netName string, n, pacing int, user id.UserID, channels []string) (*memProc, float64, error) {
	dbPath := filepath.Join(b.dir, label+".db")
	prefix := map[string]string{memNetPlain: "p", memNetTLS: "t"}[netName]
	if err := b.seedLogins(ctx, dbPath, netName, prefix, n, user, func(int) []string { return channels }); err != nil {
		return nil, 0, fmt.Errorf("seed %s: %w", label, err)
	}
	base, err := b.observer.users()
	if err != nil {
		return nil, 0, err
	}
	p, err := b.startFerry(label, dbPath, pacing)
	if err != nil {
		return nil, 0, err
	}
	if err := p.waitProbe(ctx, 30*time.Second); err != nil {
		p.stop()
		return nil, 0, err
	}
	want := base + n
	if user != "" {
		want = base + 1 // one user, one login
	}
	st, err := b.observer.waitUsers(ctx, p, base, want, 20*time.Millisecond, 60*time.Second)
	if err != nil {
		p.stop()
		return nil, 0, p.withLog(err)
	}
	return p, st.all.Sub(p.started).Seconds(), nil
}

// drain stops p and waits until its logins have left InspIRCd, so that
// the next process starts from the same count and with free nicks.
func (b *memBed) drain(ctx context.Context, p *memProc, base int) error {
	p.stop()
	deadline := time.Now().Add(30 * time.Second)
	for {
		n, err := b.observer.users()
		if err != nil {
			return err
		}
		if n <= base {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%d users still on IRC 30 s after Ferry stopped (expected %d)", n, base)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// sampleAtRest waits the settle time, then reads RSS first (the probe's
// forced GC must not change it) and the runtime's figures after.
func (b *memBed) sampleAtRest(ctx context.Context, p *memProc, label string) (memSample, error) {
	rss, err := rssAtRest(ctx, p, label)
	if err != nil {
		return memSample{}, err
	}
	parts, err := readSmaps(p.cmd.Process.Pid)
	if err != nil {
		return memSample{}, fmt.Errorf("%s smaps: %w", label, err)
	}
	classes, err := p.classes()
	if err != nil {
		return memSample{}, fmt.Errorf("%s probe: %w", label, err)
	}
	m, err := p.mem()
	if err != nil {
		return memSample{}, fmt.Errorf("%s probe: %w", label, err)
	}
	select {
	case <-ctx.Done():
		return memSample{}, ctx.Err()
	case <-time.After(mflags.GCWait):
	}
	after, err := p.rss()
	if err != nil {
		return memSample{}, err
	}
	if mflags.ProfileDir != "" {
		for _, prof := range []string{"heap", "goroutine"} {
			path := filepath.Join(mflags.ProfileDir, label+"."+prof+".pb.gz")
			if err := p.saveProfile(prof, "", path); err != nil {
				say("profile %s: %v", path, err)
			}
		}
	}
	say("%s: RSS %s (anon %s, file %s), after GC %s, live heap %s, stacks %s, %d goroutines", label,
		fmtMiB(float64(rss.RSS)), fmtMiB(float64(rss.Anon)), fmtMiB(float64(rss.File)), fmtMiB(float64(after.total)),
		fmtMiB(float64(m.HeapAlloc)), fmtMiB(float64(m.StackInuse)), m.Goroutines)
	return memSample{
		Label: label, RSS: rss.RSS, RSSAnon: rss.Anon, RSSFile: rss.File,
		RSSAfterGC: after.total, RSSAnonAfterGC: after.anon,
		HeapLive: m.HeapAlloc, HeapInuse: m.HeapInuse, Stack: m.StackInuse, Goroutines: m.Goroutines,
		Smaps: parts, GoClasses: classes,
	}, nil
}

func (b *memBed) memoryScenario(ctx context.Context, rep *memReport, ks []int, transports []string) error {
	res := &memoryResult{}
	rep.Memory = res
	base, err := b.observer.users()
	if err != nil {
		return err
	}

	for _, bb := range []struct {
		label string
		start func() (*memProc, error)
		dst   *memSample
	}{{"bare", b.startBare, &res.Bare}, {"bare-ferry", b.startBareFerry, &res.BareFerry}} {
		say("%s program", bb.label)
		bare, err := bb.start()
		if err != nil {
			return err
		}
		if err := bare.waitProbe(ctx, 30*time.Second); err != nil {
			bare.stop()
			return err
		}
		*bb.dst, err = b.sampleAtRest(ctx, bare, bb.label)
		bare.stop()
		if err != nil {
			return err
		}
	}

	measure := func(label, transport string, k, pacing int, user id.UserID, channels []string) (memSample, error) {
		netName := map[string]string{"plain": memNetPlain, "tls": memNetTLS}[transport]
		say("%s: %d logins over %s", label, k, transport)
		p, fillSecs, err := b.fill(ctx, label, netName, k, pacing, user, channels)
		if err != nil {
			return memSample{}, err
		}
		if len(channels) > 0 {
			if err := b.waitPortals(ctx, p, label, len(channels)); err != nil {
				p.stop()
				return memSample{}, err
			}
		}
		smp, err := b.sampleAtRest(ctx, p, label)
		if derr := b.drain(ctx, p, base); err == nil {
			err = derr
		}
		smp.Transport, smp.Logins, smp.FillSecs, smp.Portals = transport, k, fillSecs, len(channels)
		if err == nil {
			res.Samples = append(res.Samples, smp)
		}
		return smp, err
	}

	zero, err := measure("ferry-0", "plain", 0, mflags.MemPacing, "", nil)
	if err != nil {
		return err
	}
	res.IdleAboveBare = int64(zero.RSS) - int64(res.Bare.RSS)
	res.IdleAnonAboveBare = int64(zero.RSSAnon) - int64(res.Bare.RSSAnon)
	res.IdleFileAboveBare = int64(zero.RSSFile) - int64(res.Bare.RSSFile)
	res.IdleAboveBareAfterGC = int64(zero.RSSAfterGC) - int64(res.Bare.RSSAfterGC)
	res.IdleAboveBareFerry = int64(zero.RSS) - int64(res.BareFerry.RSS)
	res.IdleAnonAboveBareFerry = int64(zero.RSSAnon) - int64(res.BareFerry.RSSAnon)
	res.IdleFileAboveBareFerry = int64(zero.RSSFile) - int64(res.BareFerry.RSSFile)
	res.IdleAboveBareFerryAfterGC = int64(zero.RSSAfterGC) - int64(res.BareFerry.RSSAfterGC)
	res.IdleAnonAboveBareFerryAfterGC = int64(zero.RSSAnonAfterGC) - int64(res.BareFerry.RSSAnonAfterGC)
	pairs := []idlePair{newIdlePair(
		memRSS{RSS: res.BareFerry.RSS, Anon: res.BareFerry.RSSAnon, File: res.BareFerry.RSSFile},
		memRSS{RSS: zero.RSS, Anon: zero.RSSAnon, File: zero.RSSFile})}
	more, err := b.moreIdlePairs(ctx, mflags.IdlePairs-1, 2, base, false)
	if err != nil {
		return err
	}
	res.IdlePairs = summarizeIdlePairs(append(pairs, more...))
	if mflags.IdleCopies > 0 {
		copied, err := b.moreIdlePairs(ctx, mflags.IdleCopies, 1, base, true)
		if err != nil {
			return err
		}
		sum := summarizeIdlePairs(copied)
		res.IdleCopies = &sum
	}
	for _, t := range transports {
		if t != "plain" && t != "tls" {
			return fmt.Errorf("-transports: %q is neither plain nor tls", t)
		}
		for _, k := range ks {
			if k == 0 {
				continue
			}
			smp, err := measure(fmt.Sprintf("ferry-%s-%d", t, k), t, k, mflags.MemPacing, "", nil)
			if err != nil {
				return err
			}
			res.PerConn = append(res.PerConn, perConnDelta(t, k, smp, zero))
		}
	}

	if mflags.Portals > 0 {
		// One real Matrix user (portal rooms invite it) whose one login is
		// in P channels, against the same login in none.
		reg, err := b.hs.RegisterUser("portals", localhs.RandomHex(8), false)
		if err != nil {
			return err
		}
		one, err := measure("ferry-1login", "plain", 1, mflags.MemPacing, reg.UserID, nil)
		if err != nil {
			return err
		}
		channels := make([]string, mflags.Portals)
		for i := range channels {
			channels[i] = fmt.Sprintf("#idle%04d", i)
		}
		withP, err := measure(fmt.Sprintf("ferry-1login-%dportals", mflags.Portals), "plain", 1, mflags.MemPacing, reg.UserID, channels)
		if err != nil {
			return err
		}
		pp := perConnDelta("plain", mflags.Portals, withP, one)
		res.PerPortal = &pp
	}

	rep.Targets = append(rep.Targets, targetLine{
		What: "RSS with no users above the bare program", Target: "<= 2 MiB",
		Got: fmt.Sprintf("%s (anon %s, file %s; after GC %s)", fmtMiB(float64(res.IdleAboveBare)),
			fmtMiB(float64(res.IdleAnonAboveBare)), fmtMiB(float64(res.IdleFileAboveBare)), fmtMiB(float64(res.IdleAboveBareAfterGC))),
		Met: res.IdleAboveBare <= 2<<20,
	})
	rep.Targets = append(rep.Targets, targetLine{
		What: "RSS with no users above the same binary stopped after init", Target: "<= 2 MiB",
		Got: idleTargetText(res),
		// Met only if it holds however the kernel maps the binary.
		Met: res.IdlePairs.Median <= 2<<20 && (res.IdleCopies == nil || res.IdleCopies.Median <= 2<<20),
	})
	for _, pc := range res.PerConn {
		// The issue sets the target for plain TCP and asks for TLS to be
		// reported beside it (the per-connection table does).
		if pc.K == 1000 && pc.Transport == "plain" {
			rep.Targets = append(rep.Targets, targetLine{
				What: "RSS per idle plain IRC login at K=1000", Target: "<= 16 KiB",
				Got: fmt.Sprintf("%s at rest, %s after GC", fmtKiB(pc.RSSPerConn), fmtKiB(pc.RSSGCPerConn)),
				Met: pc.RSSPerConn <= 16<<10,
			})
		}
	}
	return nil
}

func perConnDelta(transport string, k int, at, zero memSample) perConnEntry {
	d := func(a, b uint64) float64 { return (float64(a) - float64(b)) / float64(k) }
	return perConnEntry{
		Transport: transport, K: k,
		RSSPerConn: d(at.RSS, zero.RSS), HeapPerConn: d(at.HeapLive, zero.HeapLive),
		RSSAnonPerConn: d(at.RSSAnon, zero.RSSAnon), RSSFilePerConn: d(at.RSSFile, zero.RSSFile),
		RSSGCPerConn: d(at.RSSAfterGC, zero.RSSAfterGC),
		StackPerConn: d(at.Stack, zero.Stack), GoroutinesPerCo: float64(at.Goroutines-zero.Goroutines) / float64(k),
	}
}

// waitPortals waits until Ferry has created n portal rooms (read from its
// database, which SQLite in WAL mode lets another process read).
func (b *memBed) waitPortals(ctx context.Context, p *memProc, label string, n int) error {
	db, err := database.Open(database.DefaultType, "file:"+filepath.Join(b.dir, label+".db")+"?_txlock=immediate", zerolog.Nop())
	if err != nil {
		return err
	}
	defer db.Close()
	deadline := time.Now().Add(5 * time.Minute)
	last, lastAt := -1, time.Now()
	for {
		var have int
		if err := db.QueryRow(ctx, `SELECT COUNT(*) FROM portal WHERE room_id IS NOT NULL AND room_id <> ''`).Scan(&have); err != nil {
			return fmt.Errorf("count portals: %w", err)
		}
		if have >= n {
			say("%s: %d portal rooms created", label, have)
			return nil
		}
		if have != last {
			last, lastAt = have, time.Now()
		}
		if p.exited() || time.Now().After(deadline) || time.Since(lastAt) > time.Minute {
			return p.withLog(fmt.Errorf("%s: %d of %d portal rooms created", label, have, n))
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(250 * time.Millisecond):
		}
	}
}
