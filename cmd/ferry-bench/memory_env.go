package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"

	"github.com/rs/zerolog"
	"gopkg.in/yaml.v3"
	"maunium.net/go/mautrix/id"

	"github.com/ferrybridge/ferry/bridge"
	"github.com/ferrybridge/ferry/database"
	"github.com/ferrybridge/ferry/internal/localhs"
	ferryirc "github.com/ferrybridge/ferry/irc"
	"github.com/ferrybridge/ferry/whatsapp"
)

// The IRC networks of the memory scenarios' Ferry config: the same
// InspIRCd through its plaintext and its TLS listener.
const (
	memNetPlain = "plain"
	memNetTLS   = "tls"
)

// memBed is the test bed of the memory, startup and idle-cpu scenarios:
// one InspIRCd and one Dendrite for the whole run, and Ferry started anew
// (a separate process with its own database) for every measurement, so
// that each figure is a clean process with exactly the logins it names.
type memBed struct {
	dir      string
	keep     bool
	ferryBin string
	bareBin  string
	cfgText  string // Ferry's config after `ferry -g`, with placeholders
	// ferryConfigs are the config files of the Ferry processes started, by
	// process name.
	ferryConfigs map[string]string
	ircd         *localhs.InspIRCd
	hs           *localhs.Dendrite
	observer     *luserCounter
	ircdConns    int

	dendriteVersion, inspircdVersion string
}

// Placeholders in cfgText that every Ferry run fills.
const (
	phDBPath = "@@FERRY_DB@@"
	phPacing = "@@PACING@@"
)

// probeImport is the file added to cmd/ferry through -overlay: Ferry as
// in the tree plus the inert-unless-asked probe package, and a bare mode
// (bareEnv): the same binary with every package initialised, stopped
// before main runs. That is the strictest "bare program linking the same
// libraries": the same file, so the same code and data pages to map.
const probeImport = `package main

import (
	"os"
	"os/signal"
	"syscall"

	_ "github.com/ferrybridge/ferry/cmd/ferry-bench/bare/probe"
)

// Package main's init runs after every imported package's.
func init() {
	if os.Getenv("` + bareEnv + `") == "" {
		return
	}
	c := make(chan os.Signal, 1)
	signal.Notify(c, os.Interrupt, syscall.SIGTERM)
	<-c
	os.Exit(0)
}
`

// bareEnv turns the Ferry binary built here into its own bare program.
const bareEnv = "FERRY_BENCH_BARE"

func startMemBed(ctx context.Context, maxLogins int, keep bool) (*memBed, error) {
	dir, err := os.MkdirTemp("", "ferry-bench-mem-")
	if err != nil {
		return nil, err
	}
	b := &memBed{dir: dir, keep: keep}
	say("work directory %s", dir)
	if err := b.build(ctx); err != nil {
		return b, err
	}

	// Every login plus the observer and some slack connect from 127.0.0.1.
	b.ircdConns = max(10000, maxLogins+100)
	say("starting InspIRCd (plaintext and TLS listeners, %d connections per IP, flood limits off)", b.ircdConns)
	if err := os.MkdirAll(filepath.Join(dir, "inspircd"), 0o700); err != nil {
		return b, err
	}
	b.ircd, err = localhs.StartInspIRCd(filepath.Join(dir, "inspircd"), localhs.InspIRCdOptions{
		NoFlood: true, TLS: true, MaxConnsPerIP: b.ircdConns,
	})
	if err != nil {
		return b, err
	}
	b.inspircdVersion = inspircdVersion()
	if b.observer, err = newLuserCounter(ctx, b.ircd.Addr); err != nil {
		return b, fmt.Errorf("IRC observer: %w", err)
	}

	ferryPort, err := localhs.FreePort()
	if err != nil {
		return b, err
	}
	hsPort, err := localhs.FreePort()
	if err != nil {
		return b, err
	}
	cfgPath := filepath.Join(dir, "config.yaml")
	regPath := filepath.Join(dir, "registration.yaml")
	cfg := localhs.FerryConfig{
		Header: "Written by ferry-bench (memory scenarios).", HomeserverPort: hsPort, FerryPort: ferryPort,
		Dir: dir, LogLevel: "warn", LogFormat: "json",
		Networks: fmt.Sprintf(`irc:
    max_concurrent_connects: %s
    networks:
        %s:
            address: %q
            flood: unlimited
        %s:
            address: %q
            tls: true
            tls_insecure: true
            flood: unlimited
`, phPacing, memNetPlain, b.ircd.Addr, memNetTLS, b.ircd.TLSAddr),
	}.YAML()
	// The database path is per run; FerryConfig puts it under Dir.
	cfg = strings.Replace(cfg, filepath.Join(dir, "ferry.db"), phDBPath, 1)
	// `ferry -g` validates the config, so the pacing must be a number then.
	if err := os.WriteFile(cfgPath, []byte(strings.Replace(cfg, phPacing, "4", 1)), 0o600); err != nil {
		return b, err
	}
	if out, err := exec.Command(b.ferryBin, "-g", "-c", cfgPath, "-r", regPath).CombinedOutput(); err != nil {
		return b, fmt.Errorf("ferry -g: %w\n%s", err, out)
	}
	generated, err := os.ReadFile(cfgPath)
	if err != nil {
		return b, err
	}
	b.cfgText = regexp.MustCompile(`max_concurrent_connects: 4`).ReplaceAllString(string(generated), "max_concurrent_connects: "+phPacing)
	if !strings.Contains(b.cfgText, phPacing) || !strings.Contains(b.cfgText, phDBPath) {
		return b, fmt.Errorf("ferry -g rewrote the config beyond recognition:\n%s", b.cfgText)
	}

	say("starting Dendrite")
	if err := os.MkdirAll(filepath.Join(dir, "dendrite"), 0o700); err != nil {
		return b, err
	}
	b.hs, err = localhs.NewDendrite(filepath.Join(dir, "dendrite"), localhs.DendriteOptions{
		RegistrationFiles: []string{regPath}, Port: hsPort, LogLevel: "warn",
	}, func(format string, args ...any) { say(format, args...) })
	if err != nil {
		return b, err
	}
	if err := b.hs.Start(); err != nil {
		return b, err
	}
	b.dendriteVersion = "v0.13.8"
	return b, nil
}

// build compiles Ferry (with the probe, see probeImport) and the bare
// program into the work directory.
func (b *memBed) build(ctx context.Context) error {
	root, err := os.Getwd()
	if err != nil {
		return err
	}
	probeFile := filepath.Join(b.dir, "zz_benchprobe.go")
	if err := os.WriteFile(probeFile, []byte(probeImport), 0o600); err != nil {
		return err
	}
	overlay, err := json.Marshal(map[string]any{"Replace": map[string]string{
		filepath.Join(root, "cmd", "ferry", "zz_benchprobe.go"): probeFile,
	}})
	if err != nil {
		return err
	}
	overlayPath := filepath.Join(b.dir, "overlay.json")
	if err := os.WriteFile(overlayPath, overlay, 0o600); err != nil {
		return err
	}
	b.ferryBin = filepath.Join(b.dir, "ferry")
	b.bareBin = filepath.Join(b.dir, "bare")
	for _, c := range [][]string{
		goBuild("-overlay", overlayPath, "-o", b.ferryBin, "./cmd/ferry"),
		goBuild("-o", b.bareBin, "./cmd/ferry-bench/bare"),
	} {
		say("go %s", strings.Join(c, " "))
		cmd := exec.CommandContext(ctx, "go", c...)
		cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
		if err := cmd.Run(); err != nil {
			return fmt.Errorf("go %s (run this from the repository root): %w", strings.Join(c, " "), err)
		}
	}
	return nil
}

// ircdLimits are the connection, flood and performance lines of the
// InspIRCd config this run uses, verbatim from the file (kept with -keep).
func (b *memBed) ircdLimits() string {
	data, err := os.ReadFile(b.ircd.ConfigPath)
	if err != nil {
		return "? (" + err.Error() + ")"
	}
	var lines []string
	for _, line := range strings.Split(string(data), "\n") {
		if strings.HasPrefix(line, "<connect ") || strings.HasPrefix(line, "<performance ") {
			lines = append(lines, line)
		}
	}
	return strings.Join(lines, " ")
}

func (b *memBed) close() {
	files := map[string]string{}
	for name, path := range b.ferryConfigs {
		files[name] = path
	}
	if b.ircd != nil {
		files["inspircd.conf"] = b.ircd.ConfigPath
	}
	if b.hs != nil {
		files["dendrite.yaml"] = b.hs.ConfigPath
	}
	saveConfigs(files)
	if b.observer != nil {
		b.observer.close()
	}
	if b.hs != nil {
		b.hs.Stop()
	}
	if b.ircd != nil {
		b.ircd.Stop()
	}
	if b.keep {
		say("kept %s", b.dir)
		return
	}
	_ = os.RemoveAll(b.dir)
}

// seedLogins writes n IRC logins on netName into a fresh Ferry database
// at dbPath, the way Ferry stores them: the irc connector's own login
// flow makes each record (ID, remote user, metadata) and the database
// package writes it. Users are @<prefix>NNNN:localhost with nick
// <prefix>NNNN; the channels of login i (channelsOf), if any, go into its
// metadata and are joined on connect.
func (b *memBed) seedLogins(ctx context.Context, dbPath, netName, prefix string, n int, user id.UserID, channelsOf func(i int) []string) error {
	db, err := database.Open(database.DefaultType, "file:"+dbPath+"?_txlock=immediate", zerolog.Nop())
	if err != nil {
		return err
	}
	defer db.Close()
	// A bridge that has run before has its whole schema: Ferry's tables,
	// the Matrix state store's and the WhatsApp tables. Without one of
	// them every start measured here would create it, which only a
	// bridge's first start does, and count the code that does it.
	if _, err := bridge.UpgradeDatabase(ctx, db, zerolog.Nop()); err != nil {
		return err
	}
	if _, _, err := whatsapp.UpgradeDatabase(ctx, db.Database, zerolog.Nop()); err != nil {
		return fmt.Errorf("create the WhatsApp tables: %w", err)
	}
	var section yaml.Node
	if err := yaml.Unmarshal([]byte(fmt.Sprintf("networks:\n  %s:\n    address: %q\n", netName, b.ircd.Addr)), &section); err != nil {
		return err
	}
	conn := ferryirc.New()
	if err := conn.Init(nil, section.Content[0]); err != nil {
		return fmt.Errorf("irc connector: %w", err)
	}
	defer conn.Stop(ctx)
	return db.DoTxn(ctx, nil, func(ctx context.Context) error {
		for i := range n {
			nick := fmt.Sprintf("%s%04d", prefix, i)
			u := user
			if u == "" {
				u = id.NewUserID(nick, "localhost")
			}
			lp, err := conn.StartLogin(ctx, u, []string{netName, nick})
			if err != nil {
				return fmt.Errorf("login %s: %w", nick, err)
			}
			step, err := lp.Start(ctx)
			if err != nil || step.Login == nil {
				return fmt.Errorf("login %s: no login (%v)", nick, err)
			}
			l := step.Login
			meta := l.Metadata
			if channels := channelsOf(i); len(channels) > 0 {
				// loginMeta.Channels: casefolded name -> {name}; the
				// channels here are lower case, so folded as they are.
				var m map[string]any
				if err := json.Unmarshal(meta, &m); err != nil {
					return err
				}
				chans := map[string]any{}
				for _, ch := range channels {
					chans[ch] = map[string]string{"name": ch}
				}
				m["channels"] = chans
				if meta, err = json.Marshal(m); err != nil {
					return err
				}
			}
			if err := db.Logins.Put(ctx, &database.Login{
				Network: ferryirc.NetworkID, ID: l.ID, UserMXID: l.User,
				RemoteName: l.RemoteName, RemoteUser: l.RemoteUser, Metadata: meta,
			}); err != nil {
				return err
			}
		}
		return nil
	})
}
