package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/rs/zerolog"
	"gopkg.in/irc.v4"
	"gopkg.in/yaml.v3"
	"maunium.net/go/mautrix/id"

	"github.com/ferrybridge/ferry/bridge"
	"github.com/ferrybridge/ferry/cmd/ferry-bench/bare/probe"
	"github.com/ferrybridge/ferry/database"
	"github.com/ferrybridge/ferry/internal/localhs"
	ferryirc "github.com/ferrybridge/ferry/irc"
	"github.com/ferrybridge/ferry/irc/ircconn"
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

// memProc is one measured process (Ferry or the bare program).
type memProc struct {
	cmd       *exec.Cmd
	done      chan struct{}
	started   time.Time
	logPath   string
	probeAddr string
}

// startFerry starts Ferry on a database already seeded, with the given
// connect pacing (max_concurrent_connects).
func (b *memBed) startFerry(name, dbPath string, pacing int) (*memProc, error) {
	cfgPath := filepath.Join(b.dir, name+".yaml")
	if b.ferryConfigs == nil {
		b.ferryConfigs = map[string]string{}
	}
	b.ferryConfigs[name+".yaml"] = cfgPath
	text := strings.NewReplacer(phDBPath, dbPath, phPacing, strconv.Itoa(pacing)).Replace(b.cfgText)
	if err := os.WriteFile(cfgPath, []byte(text), 0o600); err != nil {
		return nil, err
	}
	args := ferryEnv()
	return b.start(name, b.ferryBin, append(args, "-c", cfgPath)...)
}

// ferryEnv is -ferry-env as NAME=value arguments for start.
func ferryEnv() []string {
	var env []string
	for _, kv := range strings.Split(mflags.FerryEnv, ",") {
		if kv = strings.TrimSpace(kv); strings.Contains(kv, "=") {
			env = append(env, kv)
		}
	}
	return env
}

func (b *memBed) startBare() (*memProc, error) { return b.start("bare", b.bareBin) }

// startBareFerry starts the Ferry binary in its bare mode (see probeImport).
func (b *memBed) startBareFerry() (*memProc, error) {
	return b.start("bare-ferry", b.ferryBin, bareEnv+"=1")
}

// start runs bin; arguments of the form NAME=value before the first
// other one are environment variables.
func (b *memBed) start(name, bin string, args ...string) (*memProc, error) {
	var env []string
	for len(args) > 0 && strings.Contains(args[0], "=") && !strings.HasPrefix(args[0], "-") {
		env, args = append(env, args[0]), args[1:]
	}
	port, err := localhs.FreePort()
	if err != nil {
		return nil, err
	}
	p := &memProc{logPath: filepath.Join(b.dir, name+".log"), probeAddr: "127.0.0.1:" + strconv.Itoa(port)}
	logFile, err := os.Create(p.logPath)
	if err != nil {
		return nil, err
	}
	p.cmd = exec.Command(bin, args...)
	p.cmd.Dir = b.dir
	p.cmd.Env = append(append(os.Environ(), env...), probe.EnvVar+"="+p.probeAddr)
	if mflags.ProfileDir != "" {
		p.cmd.Env = append(p.cmd.Env, probe.ExactHeapEnvVar+"=1")
	}
	p.cmd.Stdout, p.cmd.Stderr = logFile, logFile
	p.cmd.SysProcAttr = localhs.ChildProcAttr()
	p.started = time.Now()
	if err := p.cmd.Start(); err != nil {
		logFile.Close()
		return nil, fmt.Errorf("start %s: %w", name, err)
	}
	p.done = make(chan struct{})
	go func() {
		_ = p.cmd.Wait()
		logFile.Close()
		close(p.done)
	}()
	return p, nil
}

func (p *memProc) exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

func (p *memProc) withLog(err error) error {
	return fmt.Errorf("%w\ntail of %s:\n%s", err, p.logPath, localhs.TailFile(p.logPath, 30))
}

// stop ends the process with SIGTERM (Ferry QUITs its connections) and
// waits for it.
func (p *memProc) stop() {
	if p == nil || p.cmd.Process == nil {
		return
	}
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
	case <-time.After(20 * time.Second):
		_ = p.cmd.Process.Kill()
		<-p.done
	}
}

// rssInfo is the resident set from /proc/<pid>/status: VmRSS and its
// anonymous (heap, stacks, C allocations) and file-backed (the binary's
// code and data, libraries) parts.
type rssInfo struct{ total, anon, file uint64 }

func (p *memProc) rss() (rssInfo, error) {
	var r rssInfo
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", p.cmd.Process.Pid))
	if err != nil {
		return r, err
	}
	for _, f := range []struct {
		key string
		dst *uint64
	}{{"VmRSS", &r.total}, {"RssAnon", &r.anon}, {"RssFile", &r.file}} {
		v, ok := statusValue(string(data), f.key)
		if !ok {
			return r, fmt.Errorf("no %s in /proc status", f.key)
		}
		if *f.dst, err = parseKB(v); err != nil {
			return r, fmt.Errorf("/proc status %s: %w", f.key, err)
		}
	}
	return r, nil
}

// statusValue is what follows "key:" in a /proc status file.
func statusValue(status, key string) (string, bool) {
	for _, line := range strings.Split(status, "\n") {
		if k, v, ok := strings.Cut(line, ":"); ok && k == key {
			return v, true
		}
	}
	return "", false
}

// userHZ is USER_HZ, the unit of utime and stime: 100 on every Linux
// architecture Go supports.
const userHZ = 100

// cpu is the process's processor time.
func (p *memProc) cpu() (time.Duration, error) { return procCPU(p.cmd.Process.Pid) }

// procCPU is utime+stime from /proc/<pid>/stat: all of a process's
// threads, user and kernel time.
func procCPU(pid int) (time.Duration, error) {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, err
	}
	// Fields after the command name, which is in parentheses and may
	// contain spaces: state is field 3, utime 14, stime 15.
	s := string(data)
	f := strings.Fields(s[strings.LastIndexByte(s, ')')+1:])
	if len(f) < 13 {
		return 0, errors.New("short /proc stat")
	}
	ut, err1 := strconv.ParseUint(f[11], 10, 64)
	st, err2 := strconv.ParseUint(f[12], 10, 64)
	if err := errors.Join(err1, err2); err != nil {
		return 0, err
	}
	return time.Duration(ut+st) * time.Second / userHZ, nil
}

// mem asks the probe for the runtime's figures (after a forced GC).
func (p *memProc) mem() (*probe.Mem, error) {
	resp, err := http.Get("http://" + p.probeAddr + "/mem")
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	var m probe.Mem
	if err := json.NewDecoder(resp.Body).Decode(&m); err != nil {
		return nil, err
	}
	return &m, nil
}

// classes asks the probe for the Go runtime's memory classes as they are
// (no collection first).
func (p *memProc) classes() (probe.Classes, error) {
	resp, err := http.Get("http://" + p.probeAddr + "/classes")
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	var c probe.Classes
	if err := json.NewDecoder(resp.Body).Decode(&c); err != nil {
		return nil, err
	}
	return c, nil
}

// saveProfile stores one of the probe's profiles (heap, goroutine, cpu)
// into path.
func (p *memProc) saveProfile(name, query, path string) error {
	resp, err := http.Get("http://" + p.probeAddr + "/profile/" + name + "?" + query)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if _, err := bufio.NewReader(resp.Body).WriteTo(f); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// waitProbe waits for the probe to answer (the process is up).
func (p *memProc) waitProbe(ctx context.Context, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for {
		c, err := net.DialTimeout("tcp", p.probeAddr, time.Second)
		if err == nil {
			c.Close()
			return nil
		}
		if p.exited() {
			return p.withLog(errors.New("exited early"))
		}
		if time.Now().After(deadline) {
			return p.withLog(fmt.Errorf("probe at %s not answering after %s", p.probeAddr, timeout))
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(10 * time.Millisecond):
		}
	}
}

// luserCounter is an IRC client of the benchmark's own that counts
// clients on InspIRCd with LUSERS: the IRC side's view of how many Ferry
// logins are connected, independent of Ferry.
type luserCounter struct {
	conn    *ircconn.Conn
	mu      sync.Mutex // one question at a time
	replies chan lusers
	partial lusers // reader goroutine only: the reply being collected
}

// lusers is one LUSERS answer: registered users (this observer included)
// and connections still registering ("unknown", 253).
type lusers struct{ users, unknown int }

func newLuserCounter(ctx context.Context, addr string) (*luserCounter, error) {
	lc := &luserCounter{replies: make(chan lusers, 4)}
	conn, err := ircconn.Dial(ctx, ircconn.Config{
		Addr: addr, Nick: "observer", Unlimited: true,
		Handler: func(m *irc.Message) {
			switch m.Command {
			case "251": // <me> :There are <users> users and <invisible> invisible on <n> servers
				f := strings.Fields(m.Trailing())
				lc.partial = lusers{}
				for i, w := range f {
					if (w == "users" || w == "invisible") && i > 0 {
						n, _ := strconv.Atoi(f[i-1])
						lc.partial.users += n
					}
				}
			case "253": // <me> <n> :unknown connections (sent only when n > 0)
				lc.partial.unknown, _ = strconv.Atoi(m.Param(1))
			case "266": // the last line of the answer
				select {
				case lc.replies <- lc.partial:
				default:
				}
			}
		},
	})
	if err != nil {
		return nil, err
	}
	lc.conn = conn
	return lc, nil
}

// users is the number of registered users (this observer included).
func (lc *luserCounter) users() (int, error) {
	l, err := lc.ask()
	return l.users, err
}

func (lc *luserCounter) ask() (lusers, error) {
	lc.mu.Lock()
	defer lc.mu.Unlock()
	// InspIRCd sends LUSERS output during registration too; an answer
	// left over from then (or from a timed-out question) is stale.
	for len(lc.replies) > 0 {
		<-lc.replies
	}
	if err := lc.conn.Send(&irc.Message{Command: "LUSERS"}); err != nil {
		return lusers{}, err
	}
	select {
	case l := <-lc.replies:
		return l, nil
	case <-lc.conn.Done():
		return lusers{}, fmt.Errorf("observer disconnected: %w", lc.conn.Err())
	case <-time.After(10 * time.Second):
		return lusers{}, errors.New("no LUSERS answer in 10 s")
	}
}

// startupTimes are when InspIRCd first saw a new connection (registered
// or not), first counted a new user, and counted all wanted.
type startupTimes struct{ firstConn, firstUser, all time.Time }

// waitUsers polls until at least want users are registered, every poll
// apart, and notes when the counts first went above from users (and no
// unknown connections).
func (lc *luserCounter) waitUsers(ctx context.Context, p *memProc, from, want int, poll, timeout time.Duration) (startupTimes, error) {
	var st startupTimes
	deadline := time.Now().Add(timeout)
	last := lusers{-1, -1}
	for {
		l, err := lc.ask()
		now := time.Now()
		if err != nil {
			return st, err
		}
		if (l.users > from || l.unknown > 0) && st.firstConn.IsZero() {
			st.firstConn = now
		}
		if l.users > from && st.firstUser.IsZero() {
			st.firstUser = now
		}
		if l.users >= want {
			st.all = now
			return st, nil
		}
		if l != last {
			last = l
			deadline = now.Add(timeout) // progress extends the wait
		}
		if p != nil && p.exited() {
			return st, p.withLog(fmt.Errorf("exited with %d of %d users on IRC", l.users, want))
		}
		if now.After(deadline) {
			return st, fmt.Errorf("%d of %d users on IRC after %s without progress", l.users, want, timeout)
		}
		select {
		case <-ctx.Done():
			return st, ctx.Err()
		case <-time.After(poll):
		}
	}
}

func (lc *luserCounter) close() { _ = lc.conn.Close("bye") }
