package main

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"maunium.net/go/mautrix"
	"maunium.net/go/mautrix/id"

	"github.com/ferrybridge/ferry/internal/localhs"
)

const (
	ircNetwork = "bench"
	ircChannel = "#bench"
	benchNick  = "alice"
	peerNick   = "peer"
)

// env is the running test bed: InspIRCd, Dendrite, Ferry, and a Matrix
// user logged in to IRC through Ferry and joined to the portal of
// ircChannel.
type env struct {
	dir  string
	keep bool

	ircd  *localhs.InspIRCd
	hs    *localhs.Dendrite
	ferry *exec.Cmd
	fdone chan struct{}

	// ferryConfig is the path of Ferry's config file.
	ferryConfig string

	cancelSync context.CancelFunc
	user       *matrixUser
	bot        id.UserID
	mgmt       id.RoomID
	// portals are the bridged channels, in the order of channelNames.
	portals []portal
	// metricsURL is Ferry's /metrics.
	metricsURL string
	// observer is the second appservice that times Dendrite's own pushes
	// (nil unless the scenario needs that baseline).
	observer *observer
	// tap records Dendrite's pushes to Ferry (-tap; nil without).
	tap *tap
	// aloneRooms are the rooms of the homeserver-alone baseline, one per
	// portal, made by its warm-up (homeserver_alone.go).
	aloneRooms  []id.RoomID
	aloneSender *mautrix.Client
	// burstStart is the processor counters at the current burst's start
	// (nil if they could not be read).
	burstStart *processorCounters

	dendriteVersion, inspircdVersion string
}

func startEnv(ctx context.Context, s *settings, keep bool) (*env, error) {
	dir, err := os.MkdirTemp("", "ferry-bench-")
	if err != nil {
		return nil, err
	}
	e := &env{dir: dir, keep: keep}
	s.FerryDB = "sqlite3-fk-wal"
	s.DendriteLog = "warn"
	s.DendriteJS = "in memory"
	s.DendriteConf = "generate-config -ci: SQLite, full-text search and presence on"
	s.IRCdConnLimit = 10000
	s.IRCdFlood = "off (threshold 1000000, commandrate 100000000, fakelag no, recvq 1M, sendq 64M)"
	s.PeerFlood = "unlimited"
	s.SyncFilter = `{"room":{"timeline":{"limit":500}}}`

	say("work directory %s", dir)
	say("building ferry")
	ferryBin := filepath.Join(dir, "ferry")
	build := exec.CommandContext(ctx, "go", goBuild("-o", ferryBin, "./cmd/ferry")...)
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		return e, fmt.Errorf("build ferry (run this from the repository root): %w", err)
	}

	say("starting InspIRCd")
	if err := os.MkdirAll(filepath.Join(dir, "inspircd"), 0o700); err != nil {
		return e, err
	}
	e.ircd, err = localhs.StartInspIRCd(filepath.Join(dir, "inspircd"), localhs.InspIRCdOptions{
		NoFlood: true, MaxConnsPerIP: s.IRCdConnLimit,
	})
	if err != nil {
		return e, err
	}
	e.inspircdVersion = inspircdVersion()

	ferryPort, err := localhs.FreePort()
	if err != nil {
		return e, err
	}
	hsPort, err := localhs.FreePort()
	if err != nil {
		return e, err
	}
	metricsPort, err := localhs.FreePort()
	if err != nil {
		return e, err
	}
	s.FerryMetrics = fmt.Sprintf("127.0.0.1:%d", metricsPort)
	e.metricsURL = "http://" + s.FerryMetrics + "/metrics"
	cfgPath := filepath.Join(dir, "config.yaml")
	regPath := filepath.Join(dir, "registration.yaml")
	e.ferryConfig = cfgPath
	if err := os.WriteFile(cfgPath, []byte(ferryConfig(hsPort, ferryPort, dir, e.ircd.Addr, s)), 0o600); err != nil {
		return e, err
	}
	if out, err := exec.Command(ferryBin, "-g", "-c", cfgPath, "-r", regPath).CombinedOutput(); err != nil {
		return e, fmt.Errorf("ferry -g: %w\n%s", err, out)
	}

	s.Tap = "off"
	if s.TapOn {
		if e.tap, err = startTap(regPath, ferryPort); err != nil {
			return e, err
		}
		s.Tap = e.tap.describe()
	}
	regFiles := []string{regPath}
	s.Observer = "off"
	if needsObserver(s) {
		obsReg := filepath.Join(dir, "observer-registration.yaml")
		if e.observer, err = startObserver(obsReg); err != nil {
			return e, err
		}
		regFiles = append(regFiles, obsReg)
		s.Observer = e.observer.describe()
	}

	say("starting Dendrite")
	if err := os.MkdirAll(filepath.Join(dir, "dendrite"), 0o700); err != nil {
		return e, err
	}
	e.hs, err = localhs.NewDendrite(filepath.Join(dir, "dendrite"), localhs.DendriteOptions{
		RegistrationFiles: regFiles, Port: hsPort, LogLevel: s.DendriteLog,
	}, func(format string, args ...any) { say(format, args...) })
	if err != nil {
		return e, err
	}
	if err := e.hs.Start(); err != nil {
		return e, err
	}
	e.dendriteVersion = "v0.13.8"

	say("starting ferry")
	logFile, err := os.Create(filepath.Join(dir, "ferry.log"))
	if err != nil {
		return e, err
	}
	e.ferry = exec.Command(ferryBin, "-c", cfgPath)
	e.ferry.Dir = dir
	s.FerryEnv = ferryEnv()
	e.ferry.Env = append(os.Environ(), s.FerryEnv...)
	e.ferry.Stdout, e.ferry.Stderr = logFile, logFile
	e.ferry.SysProcAttr = localhs.ChildProcAttr()
	if err := e.ferry.Start(); err != nil {
		logFile.Close()
		return e, fmt.Errorf("start ferry: %w", err)
	}
	e.fdone = make(chan struct{})
	go func() {
		_ = e.ferry.Wait()
		logFile.Close()
		close(e.fdone)
	}()
	if err := e.waitPort(ctx, fmt.Sprintf("127.0.0.1:%d", ferryPort), 30*time.Second); err != nil {
		return e, err
	}

	say("setting up the Matrix user, the IRC login and the portal")
	reg, err := e.hs.RegisterUser("bench", localhs.RandomHex(8), false)
	if err != nil {
		return e, err
	}
	if e.user, err = newMatrixUser(e.hs.URL, reg.UserID, reg.AccessToken); err != nil {
		return e, err
	}
	syncCtx, cancel := context.WithCancel(ctx)
	e.cancelSync = cancel
	go e.user.syncLoop(syncCtx)
	e.bot = e.hs.UserID("ferry")
	if e.mgmt, err = e.user.createDM(ctx, e.bot); err != nil {
		return e, err
	}
	if err := e.user.waitNotice(ctx, e.mgmt, e.bot, "This is your management room", 0); err != nil {
		return e, e.withFerryLog(err)
	}
	if err := e.user.command(ctx, e.mgmt, e.bot, "login irc "+ircNetwork+" "+benchNick, "Logged in to IRC as "+benchNick); err != nil {
		return e, e.withFerryLog(err)
	}
	known := map[id.RoomID]bool{e.mgmt: true}
	for _, channel := range channelNames(s.Channels) {
		if err := e.user.commandRetry(ctx, e.mgmt, e.bot, "irc join "+ircNetwork+" "+channel, "Joining "+channel, "not connected"); err != nil {
			return e, e.withFerryLog(err)
		}
		room, err := e.user.waitInvite(ctx, known)
		if err != nil {
			return e, e.withFerryLog(fmt.Errorf("%s: %w", channel, err))
		}
		known[room] = true
		if _, err := e.user.JoinRoom(ctx, room.String(), nil); err != nil {
			return e, fmt.Errorf("join portal %s of %s: %w", room, channel, err)
		}
		e.portals = append(e.portals, portal{channel: channel, room: room})
	}
	return e, nil
}

// portal is one bridged channel and its Matrix room.
type portal struct {
	channel string
	room    id.RoomID
}

// channelNames are the bridged channels of a run: #bench, then #bench-2...
func channelNames(n int) []string {
	names := []string{ircChannel}
	for i := 2; i <= n; i++ {
		names = append(names, fmt.Sprintf("%s-%d", ircChannel, i))
	}
	return names
}

// waitPort waits until addr accepts TCP connections or Ferry exits.
func (e *env) waitPort(ctx context.Context, addr string, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for {
		c, err := net.DialTimeout("tcp", addr, time.Second)
		if err == nil {
			c.Close()
			return nil
		}
		select {
		case <-e.fdone:
			return e.withFerryLog(fmt.Errorf("ferry exited before listening on %s", addr))
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(20 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			return e.withFerryLog(fmt.Errorf("ferry did not listen on %s within %s", addr, timeout))
		}
	}
}

func (e *env) withFerryLog(err error) error {
	return fmt.Errorf("%w\ntail of %s:\n%s", err, filepath.Join(e.dir, "ferry.log"), localhs.TailFile(filepath.Join(e.dir, "ferry.log"), 30))
}

func (e *env) close() {
	files := map[string]string{"ferry.yaml": e.ferryConfig}
	if e.ircd != nil {
		files["inspircd.conf"] = e.ircd.ConfigPath
	}
	if e.hs != nil {
		files["dendrite.yaml"] = e.hs.ConfigPath
	}
	saveConfigs(files)
	if e.cancelSync != nil {
		e.cancelSync()
	}
	if e.ferry != nil && e.ferry.Process != nil {
		localhs.StopProcess(e.ferry.Process, syscall.SIGTERM, e.fdone, 10*time.Second)
	}
	if e.hs != nil {
		e.hs.Stop()
	}
	if e.ircd != nil {
		e.ircd.Stop()
	}
	if e.observer != nil {
		e.observer.close()
	}
	if e.tap != nil {
		e.tap.close()
	}
	if e.keep {
		say("kept %s", e.dir)
		return
	}
	_ = os.RemoveAll(e.dir)
}

func ferryConfig(hsPort, ferryPort int, dir, ircAddr string, s *settings) string {
	return localhs.FerryConfig{
		Header: "Written by ferry-bench.", HomeserverPort: hsPort, FerryPort: ferryPort, Dir: dir,
		DatabaseType: s.FerryDB, LogLevel: s.FerryLogLevel, LogFormat: "json", MetricsListen: s.FerryMetrics,
		NoPipelining: !s.PipelineSends,
		Networks: fmt.Sprintf(`irc:
    networks:
        %s:
            address: %q
            flood: %s
            relay_allowed: true
`, ircNetwork, ircAddr, s.FerryFlood),
	}.YAML()
}

func inspircdVersion() string {
	bin, err := localhs.InspIRCdBinary()
	if err != nil {
		return "?"
	}
	out, _ := exec.Command(bin, "--version").CombinedOutput()
	if v := strings.TrimSpace(string(out)); v != "" {
		return strings.SplitN(v, "\n", 2)[0]
	}
	return "?"
}
