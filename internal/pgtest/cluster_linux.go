//go:build linux

package pgtest

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/ferrybridge/ferry/internal/localhs"
)

// How the throwaway cluster is kept from outliving the test process:
//
//  1. postgres runs as a direct child (not daemonised by pg_ctl) with
//     Linux's parent-death signal set to SIGQUIT, so the kernel makes it
//     exit immediately when the test process dies for any reason, SIGKILL
//     and `go test -timeout` included. The signal is tied to the OS thread
//     that forked the child, so the child is started from a goroutine
//     locked to its thread that stays alive (in Wait) as long as postgres.
//  2. Nothing is left on disk either: each cluster lives in
//     os.TempDir()/ferry-pgtest-* with an owner.pid file naming the test
//     process. Main deletes the directory on a normal exit; after a crash
//     the next start finds directories whose owner is gone, stops a
//     postgres still running there (only if its postmaster.pid names a live
//     "postgres" process) and deletes them.
//
// The server listens on 127.0.0.1 only, with its Unix socket in the private
// directory, trust authentication and fsync off: it is throwaway.

const (
	dirPrefix = "ferry-pgtest-"
	ownerFile = "owner.pid"
)

type cluster struct {
	dir    string
	dsn    string
	cmd    *exec.Cmd
	exited chan struct{} // closed when postgres has exited
}

func startCluster() (*cluster, error) {
	sweepStale()
	initdb, postgres, err := findBinaries()
	if err != nil {
		return nil, err
	}
	cred, err := serverCredential()
	if err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp("", dirPrefix)
	if err != nil {
		return nil, fmt.Errorf("create cluster directory: %w", err)
	}
	c, err := initAndStart(dir, initdb, postgres, cred)
	if err != nil {
		_ = os.RemoveAll(dir)
		return nil, err
	}
	return c, nil
}

func initAndStart(dir, initdb, postgres string, cred *syscall.Credential) (*cluster, error) {
	if err := os.WriteFile(filepath.Join(dir, ownerFile), []byte(strconv.Itoa(os.Getpid())), 0o644); err != nil {
		return nil, fmt.Errorf("write owner file: %w", err)
	}
	if cred != nil {
		if err := os.Chown(dir, int(cred.Uid), int(cred.Gid)); err != nil {
			return nil, fmt.Errorf("chown cluster directory to the postgres user: %w", err)
		}
	}
	data := filepath.Join(dir, "data")
	cmd := serverCommand(dir, cred, initdb, "-D", data, "-U", "postgres", "-A", "trust",
		"-E", "UTF8", "--no-locale", "--no-sync")
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		return nil, fmt.Errorf("%s failed: %w\n%s", initdb, err, out.String())
	}
	// A port picked by binding :0 can be taken again before postgres binds
	// it; retry with another one in that unlikely case.
	var lastErr error
	for range 3 {
		c, err := startServer(dir, data, postgres, cred)
		if err == nil {
			return c, nil
		}
		lastErr = err
	}
	return nil, lastErr
}

func startServer(dir, data, postgres string, cred *syscall.Credential) (*cluster, error) {
	port, err := localhs.FreePort()
	if err != nil {
		return nil, err
	}
	logPath := filepath.Join(dir, "postgres.log")
	logFile, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o644)
	if err != nil {
		return nil, fmt.Errorf("create server log: %w", err)
	}
	defer logFile.Close() // the child has its own copy of the descriptor
	cmd := serverCommand(dir, cred, postgres, "-D", data, "-p", strconv.Itoa(port), "-k", dir,
		"-c", "listen_addresses=127.0.0.1", "-c", "fsync=off", "-c", "synchronous_commit=off",
		"-c", "full_page_writes=off", "-c", "max_connections=200")
	cmd.Stdout, cmd.Stderr = logFile, logFile
	cmd.SysProcAttr.Pdeathsig = syscall.SIGQUIT
	c := &cluster{
		dir:    dir,
		dsn:    fmt.Sprintf("postgres://postgres@127.0.0.1:%d/postgres?sslmode=disable", port),
		cmd:    cmd,
		exited: make(chan struct{}),
	}
	started := make(chan error, 1)
	go func() {
		// Never unlocked: see the comment at the top of the file. When this
		// goroutine returns, postgres has already exited, so the thread
		// ending then does no harm.
		runtime.LockOSThread()
		if err := cmd.Start(); err != nil {
			started <- err
			return
		}
		started <- nil
		_ = cmd.Wait()
		close(c.exited)
	}()
	if err := <-started; err != nil {
		return nil, fmt.Errorf("start %s: %w", postgres, err)
	}
	deadline := time.Now().Add(60 * time.Second)
	for {
		db, err := connect(c.dsn, 2*time.Second)
		if err == nil {
			_ = db.Close()
			return c, nil
		}
		select {
		case <-c.exited:
			return nil, fmt.Errorf("postgres exited during start-up:\n%s", tail(logPath))
		case <-time.After(100 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			c.shutdown()
			return nil, fmt.Errorf("postgres did not accept connections within 60s: %w\n%s", err, tail(logPath))
		}
	}
}

// stop shuts postgres down and deletes the cluster directory.
func (c *cluster) stop() error {
	c.shutdown()
	if err := os.RemoveAll(c.dir); err != nil {
		return fmt.Errorf("remove cluster directory: %w", err)
	}
	return nil
}

// shutdown asks postgres for a fast shutdown and kills it if that takes
// more than 10s.
func (c *cluster) shutdown() {
	localhs.StopProcess(c.cmd.Process, syscall.SIGINT, c.exited, 10*time.Second)
}

// serverCommand prepares initdb or postgres to run as the server user.
func serverCommand(dir string, cred *syscall.Credential, name string, args ...string) *exec.Cmd {
	cmd := exec.Command(name, args...)
	cmd.Dir = dir // the user's working directory may be unreadable to postgres
	cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "LC_ALL=C", "LANG=C"}
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: cred}
	return cmd
}

// serverCredential returns whom to run initdb and postgres as: both refuse
// to run as root, so as root they run as the "postgres" OS user the
// PostgreSQL packages create; otherwise as ourselves (nil).
func serverCredential() (*syscall.Credential, error) {
	if os.Geteuid() != 0 {
		return nil, nil
	}
	u, err := user.Lookup("postgres")
	if err != nil {
		return nil, fmt.Errorf("running as root, but PostgreSQL refuses root and there is no postgres user to run it as: %w", err)
	}
	uid, err := strconv.ParseUint(u.Uid, 10, 32)
	if err != nil {
		return nil, fmt.Errorf("postgres user: bad uid %q", u.Uid)
	}
	gid, err := strconv.ParseUint(u.Gid, 10, 32)
	if err != nil {
		return nil, fmt.Errorf("postgres user: bad gid %q", u.Gid)
	}
	return &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}, nil
}

// findBinaries looks for initdb in PATH, then in Debian's versioned
// directories (newest first), and takes postgres from the same directory so
// the two versions match.
func findBinaries() (initdb, postgres string, err error) {
	var candidates []string
	if p, err := exec.LookPath("initdb"); err == nil {
		candidates = append(candidates, p)
	}
	dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	slices.SortFunc(dirs, func(a, b string) int { return versionOf(b) - versionOf(a) })
	for _, d := range dirs {
		candidates = append(candidates, filepath.Join(d, "initdb"))
	}
	for _, cand := range candidates {
		pg := filepath.Join(filepath.Dir(cand), "postgres")
		if isExecutable(cand) && isExecutable(pg) {
			return cand, pg, nil
		}
	}
	return "", "", errors.New("initdb and postgres not found in PATH or /usr/lib/postgresql/*/bin")
}

func versionOf(binDir string) int {
	v, _ := strconv.Atoi(filepath.Base(filepath.Dir(binDir)))
	return v
}

func isExecutable(path string) bool {
	fi, err := os.Stat(path)
	return err == nil && !fi.IsDir() && fi.Mode()&0o111 != 0
}

// sweepStale deletes the clusters of test processes that died without
// running Main's cleanup. It is best effort: errors only leave garbage in
// the temporary directory.
func sweepStale() {
	dirs, _ := filepath.Glob(filepath.Join(os.TempDir(), dirPrefix+"*"))
	for _, dir := range dirs {
		raw, err := os.ReadFile(filepath.Join(dir, ownerFile))
		if err != nil {
			// Crashed before writing the owner file; only clean up once it
			// is surely not a cluster being set up right now.
			if fi, statErr := os.Stat(dir); statErr == nil && time.Since(fi.ModTime()) > time.Hour {
				_ = os.RemoveAll(dir)
			}
			continue
		}
		owner, err := strconv.Atoi(strings.TrimSpace(string(raw)))
		if err != nil || processAlive(owner) {
			continue
		}
		if pid := postmasterPID(dir); pid > 0 && processAlive(pid) && processName(pid) == "postgres" {
			_ = syscall.Kill(pid, syscall.SIGQUIT)
			for i := 0; i < 50 && processAlive(pid); i++ {
				time.Sleep(100 * time.Millisecond)
			}
		}
		_ = os.RemoveAll(dir)
	}
}

func postmasterPID(dir string) int {
	raw, err := os.ReadFile(filepath.Join(dir, "data", "postmaster.pid"))
	if err != nil {
		return 0
	}
	first, _, _ := strings.Cut(string(raw), "\n")
	pid, _ := strconv.Atoi(strings.TrimSpace(first))
	return pid
}

// processAlive treats "exists but not ours to signal" as alive.
func processAlive(pid int) bool {
	err := syscall.Kill(pid, 0)
	return err == nil || errors.Is(err, syscall.EPERM)
}

func processName(pid int) string {
	raw, _ := os.ReadFile(fmt.Sprintf("/proc/%d/comm", pid))
	return strings.TrimSpace(string(raw))
}

// tail returns the end of the server log for error messages.
func tail(path string) string {
	raw, _ := os.ReadFile(path)
	if len(raw) > 4000 {
		raw = raw[len(raw)-4000:]
	}
	return string(raw)
}
