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
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/ferrybridge/ferry/cmd/ferry-bench/bare/probe"
	"github.com/ferrybridge/ferry/internal/localhs"
)

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
	cfgPath, err := b.writeFerryConfig(name, dbPath, pacing)
	if err != nil {
		return nil, err
	}
	return b.start(name, b.ferryBin, append(ferryEnv(), "-c", cfgPath)...)
}

// writeFerryConfig writes the config of the Ferry process name and
// returns its path.
func (b *memBed) writeFerryConfig(name, dbPath string, pacing int) (string, error) {
	cfgPath := filepath.Join(b.dir, name+".yaml")
	if b.ferryConfigs == nil {
		b.ferryConfigs = map[string]string{}
	}
	b.ferryConfigs[name+".yaml"] = cfgPath
	text := strings.NewReplacer(phDBPath, dbPath, phPacing, strconv.Itoa(pacing)).Replace(b.cfgText)
	return cfgPath, os.WriteFile(cfgPath, []byte(text), 0o600)
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
	localhs.StopProcess(p.cmd.Process, syscall.SIGTERM, p.done, 20*time.Second)
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
	m, err := probeJSON[probe.Mem](p, "/mem")
	return &m, err
}

// classes asks the probe for the Go runtime's memory classes as they are
// (no collection first).
func (p *memProc) classes() (probe.Classes, error) {
	return probeJSON[probe.Classes](p, "/classes")
}

// probeJSON is the probe's JSON answer at path.
func probeJSON[T any](p *memProc, path string) (T, error) {
	var v T
	resp, err := http.Get("http://" + p.probeAddr + path)
	if err != nil {
		return v, err
	}
	defer resp.Body.Close()
	err = json.NewDecoder(resp.Body).Decode(&v)
	return v, err
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

// startProbed starts a process and waits for its probe; if the probe
// does not answer, the process is stopped.
func startProbed(ctx context.Context, start func() (*memProc, error)) (*memProc, error) {
	p, err := start()
	if err != nil {
		return nil, err
	}
	if err = p.waitProbe(ctx, 30*time.Second); err != nil {
		p.stop()
		return nil, err
	}
	return p, nil
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
