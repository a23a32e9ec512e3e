// Package localhs runs a local Dendrite homeserver on loopback: for the
// test bed, and for the demo that lets a newcomer try Ferry without a
// homeserver of their own. It has no testing dependencies.
package localhs

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha1"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"gopkg.in/yaml.v3"
	"maunium.net/go/mautrix/id"
)

// Dendrite is a Dendrite homeserver on loopback.
type Dendrite struct {
	URL          string // http://127.0.0.1:<port>
	ServerName   string // "localhost"
	SharedSecret string // registration_shared_secret
	Dir          string // config, keys, SQLite databases, JetStream store, log
	ConfigPath   string // Dir/dendrite.yaml
	LogPath      string // Dir/dendrite.log: Dendrite's stdout and stderr, appended across restarts
	Port         int

	bin          string
	startTimeout time.Duration

	mu   sync.Mutex
	proc *dendriteProc // nil when stopped
}

type dendriteProc struct {
	cmd      *exec.Cmd
	done     chan struct{} // closed when the process has exited
	err      error         // exit status, valid after done
	stopping bool          // guarded by Dendrite.mu: we asked it to exit
}

// DendriteOptions configures NewDendrite.
type DendriteOptions struct {
	// RegistrationFiles are appservice registration files, listed in
	// app_service_api.config_files. Relative paths are made absolute. The
	// files must exist when Dendrite starts.
	RegistrationFiles []string
	// LogLevel is Dendrite's log level (trace, debug, info, warn, error);
	// default "warn". The -ci config logs at trace, which is slow and huge.
	LogLevel string
	// Config sets further config values by dotted path, applied last, e.g.
	// {"client_api.rate_limiting.enabled": true}.
	Config map[string]any
	// PersistentJetStream keeps Dendrite's internal JetStream queues on disk
	// instead of in memory (the -ci default), so events queued at Stop are
	// still delivered after Restart. Do not combine it with Kill: after a
	// SIGKILL, Dendrite 0.13.8 loses the unflushed JetStream blocks, its
	// consumers' ack floors are then ahead of the streams, and it silently
	// drops new events after Restart (seen in about 1 of 6 runs under load).
	// The SQLite databases (accounts, rooms, timelines) always persist.
	PersistentJetStream bool
	// Port is the loopback port to listen on; 0 picks a free one.
	Port int
	// StartTimeout bounds the wait for the client API to answer; default
	// 60 s (Dendrite is usually ready in well under a second).
	StartTimeout time.Duration
}

// NewDendrite prepares a Dendrite in dir: it installs the binaries if
// needed (logf hears about that), generates a config (generate-config -ci)
// and a signing key, configures the appservice registrations, disables
// open registration and sets a random registration_shared_secret and the
// log level. Start runs it.
func NewDendrite(dir string, opts DendriteOptions, logf func(format string, args ...any)) (*Dendrite, error) {
	bin, err := DendriteBinaries(logf)
	if err != nil {
		return nil, err
	}
	d := &Dendrite{
		ServerName:   "localhost",
		SharedSecret: RandomHex(16),
		Dir:          dir,
		Port:         opts.Port,
		bin:          bin,
		startTimeout: opts.StartTimeout,
	}
	if d.startTimeout <= 0 {
		d.startTimeout = 60 * time.Second
	}
	d.ConfigPath = filepath.Join(d.Dir, "dendrite.yaml")
	d.LogPath = filepath.Join(d.Dir, "dendrite.log")
	if err := d.writeConfig(opts); err != nil {
		return nil, fmt.Errorf("Dendrite config: %w", err)
	}
	return d, nil
}

// Start runs Dendrite and waits until its client API answers. Without a
// fixed port it picks a free one, trying a few in case another process
// takes the port between the pick and the bind.
func (d *Dendrite) Start() error {
	if d.Port != 0 {
		d.URL = "http://127.0.0.1:" + strconv.Itoa(d.Port)
		return d.start()
	}
	var err error
	for attempt := 0; attempt < 3; attempt++ {
		if d.Port, err = FreePort(); err != nil {
			return err
		}
		d.URL = "http://127.0.0.1:" + strconv.Itoa(d.Port)
		if err = d.start(); err == nil || !errors.Is(err, errAddrInUse) {
			break
		}
		d.Port = 0
	}
	return err
}

// ExitedOnItsOwn reports whether Dendrite died without being asked to, and
// how.
func (d *Dendrite) ExitedOnItsOwn() (bool, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	p := d.proc
	if p != nil && !p.stopping && isClosed(p.done) {
		return true, p.err
	}
	return false, nil
}

func (d *Dendrite) writeConfig(opts DendriteOptions) error {
	out, err := exec.Command(filepath.Join(d.bin, "generate-config"), "-ci", "-dir", d.Dir, "-server", d.ServerName).Output()
	if err != nil {
		return fmt.Errorf("generate-config: %w%s", err, exitStderr(err))
	}
	keyPath := filepath.Join(d.Dir, "matrix_key.pem")
	if out, err := exec.Command(filepath.Join(d.bin, "generate-keys"), "--private-key", keyPath).CombinedOutput(); err != nil {
		return fmt.Errorf("generate-keys: %w\n%s", err, out)
	}
	var doc yaml.Node
	if err := yaml.Unmarshal(out, &doc); err != nil {
		return fmt.Errorf("parse generated config: %w", err)
	}
	regs := make([]string, 0, len(opts.RegistrationFiles))
	for _, f := range opts.RegistrationFiles {
		abs, err := filepath.Abs(f)
		if err != nil {
			return err
		}
		regs = append(regs, abs)
	}
	level := opts.LogLevel
	if level == "" {
		level = "warn"
	}
	jetstream := filepath.Join(d.Dir, "jetstream")
	if err := os.MkdirAll(jetstream, 0o755); err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Join(d.Dir, "media"), 0o755); err != nil {
		return err
	}
	settings := []struct {
		path  string
		value any
	}{
		{"global.private_key", keyPath},
		{"global.jetstream.in_memory", !opts.PersistentJetStream},
		{"global.jetstream.storage_path", jetstream},
		{"app_service_api.config_files", regs},
		{"client_api.registration_disabled", true},
		{"client_api.registration_shared_secret", d.SharedSecret},
		{"logging", []map[string]any{{"type": "std", "level": level}}},
	}
	for _, s := range settings {
		if err := setYAML(&doc, s.path, s.value); err != nil {
			return err
		}
	}
	for path, value := range opts.Config {
		if err := setYAML(&doc, path, value); err != nil {
			return err
		}
	}
	cfg, err := yaml.Marshal(&doc)
	if err != nil {
		return err
	}
	return os.WriteFile(d.ConfigPath, cfg, 0o644)
}

var errAddrInUse = errors.New("address already in use")

// start runs Dendrite on d.Port and waits until its client API answers.
func (d *Dendrite) start() error {
	logFile, err := os.OpenFile(d.LogPath, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	fmt.Fprintf(logFile, "=== localhs: starting Dendrite on 127.0.0.1:%d at %s ===\n", d.Port, time.Now().Format(time.RFC3339Nano))
	cmd := exec.Command(filepath.Join(d.bin, "dendrite"),
		"--config", d.ConfigPath,
		"--http-bind-address", "127.0.0.1:"+strconv.Itoa(d.Port))
	cmd.Dir = d.Dir
	cmd.Stdout = logFile
	cmd.Stderr = logFile
	cmd.SysProcAttr = ChildProcAttr()
	if err := cmd.Start(); err != nil {
		logFile.Close()
		return err
	}
	p := &dendriteProc{cmd: cmd, done: make(chan struct{})}
	go func() {
		p.err = cmd.Wait()
		logFile.Close()
		close(p.done)
	}()
	d.mu.Lock()
	d.proc = p
	d.mu.Unlock()

	if err := waitReady(d.URL, p.done, d.startTimeout); err != nil {
		d.Kill()
		logTail := TailFile(d.LogPath, 40)
		if strings.Contains(logTail, "address already in use") {
			err = fmt.Errorf("%w: %v", errAddrInUse, err)
		}
		return fmt.Errorf("%v; tail of %s:\n%s", err, d.LogPath, logTail)
	}
	return nil
}

// waitReady polls GET /_matrix/client/versions until it answers 200, the
// process exits (done closes) or the timeout passes.
func waitReady(base string, done <-chan struct{}, timeout time.Duration) error {
	client := &http.Client{Timeout: 2 * time.Second}
	deadline := time.Now().Add(timeout)
	var last error
	for {
		resp, err := client.Get(base + "/_matrix/client/versions")
		if err == nil {
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
			err = fmt.Errorf("HTTP %d", resp.StatusCode)
		}
		last = err
		select {
		case <-done:
			return fmt.Errorf("Dendrite exited before answering %s", base)
		case <-time.After(50 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("Dendrite did not answer %s/_matrix/client/versions within %s (last: %v)", base, timeout, last)
		}
	}
}

// Stop stops Dendrite gracefully (SIGTERM; SIGKILL after 10 s) and waits for
// it to exit. Its data stays in Dir for Restart. Stopping a stopped
// Dendrite does nothing.
func (d *Dendrite) Stop() { d.stop(syscall.SIGTERM, 10*time.Second) }

// Kill stops Dendrite with SIGKILL, like a crash, and waits for it to exit.
func (d *Dendrite) Kill() { d.stop(syscall.SIGKILL, 0) }

func (d *Dendrite) stop(sig syscall.Signal, grace time.Duration) {
	d.mu.Lock()
	p := d.proc
	if p == nil {
		d.mu.Unlock()
		return
	}
	p.stopping = true
	d.proc = nil
	d.mu.Unlock()
	if isClosed(p.done) {
		return
	}
	StopProcess(p.cmd.Process, sig, p.done, grace)
}

// Restart starts a stopped Dendrite again (stopping it first if it runs)
// with the same port, config and data, and waits until it answers. Sync
// tokens and access tokens stay valid. Unless PersistentJetStream is set,
// events still queued inside Dendrite at Stop (for example appservice
// transactions not yet delivered) may be lost.
func (d *Dendrite) Restart() error {
	d.Stop()
	if err := d.start(); err != nil {
		return fmt.Errorf("restart Dendrite on port %d: %w", d.Port, err)
	}
	return nil
}

// Pid is the Dendrite process's ID, or 0 when it is not running.
func (d *Dendrite) Pid() int {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.proc == nil || isClosed(d.proc.done) {
		return 0
	}
	return d.proc.cmd.Process.Pid
}

// Running reports whether the Dendrite process is alive.
func (d *Dendrite) Running() bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.proc != nil && !isClosed(d.proc.done)
}

// UserID returns @localpart:<server name>.
func (d *Dendrite) UserID(localpart string) id.UserID {
	return id.NewUserID(localpart, d.ServerName)
}

// RegisterUser creates a user with shared-secret registration
// (/_synapse/admin/v1/register). Dendrite rejects passwords shorter than 8
// characters.
func (d *Dendrite) RegisterUser(localpart, password string, admin bool) (*Registered, error) {
	resp, err := d.registerUser(localpart, password, admin)
	if err != nil {
		return nil, fmt.Errorf("register %q: %w", localpart, err)
	}
	return resp, nil
}

// Registered is a user made by RegisterUser.
type Registered struct {
	UserID      id.UserID   `json:"user_id"`
	AccessToken string      `json:"access_token"`
	DeviceID    id.DeviceID `json:"device_id"`
}

func (d *Dendrite) registerUser(localpart, password string, admin bool) (*Registered, error) {
	client := &http.Client{Timeout: 30 * time.Second}
	endpoint := d.URL + "/_synapse/admin/v1/register"
	var nonce struct {
		Nonce string `json:"nonce"`
	}
	if err := doJSON(client, http.MethodGet, endpoint, nil, &nonce); err != nil {
		return nil, fmt.Errorf("get nonce: %w", err)
	}
	role := "notadmin"
	if admin {
		role = "admin"
	}
	mac := hmac.New(sha1.New, []byte(d.SharedSecret))
	mac.Write([]byte(nonce.Nonce + "\x00" + localpart + "\x00" + password + "\x00" + role))
	body := map[string]any{
		"nonce":    nonce.Nonce,
		"username": localpart,
		"password": password,
		"admin":    admin,
		"mac":      hex.EncodeToString(mac.Sum(nil)),
	}
	var resp Registered
	if err := doJSON(client, http.MethodPost, endpoint, body, &resp); err != nil {
		return nil, err
	}
	if resp.UserID == "" || resp.AccessToken == "" {
		return nil, fmt.Errorf("response without user_id or access_token: %+v", resp)
	}
	return &resp, nil
}

func doJSON(client *http.Client, method, url string, body, out any) error {
	var r io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return err
		}
		r = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(context.Background(), method, url, r)
	if err != nil {
		return err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		return err
	}
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("%s %s: HTTP %d: %s", method, url, resp.StatusCode, data)
	}
	return json.Unmarshal(data, out)
}

// RandomHex returns n random bytes as hex.
func RandomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

func isClosed(ch <-chan struct{}) bool {
	select {
	case <-ch:
		return true
	default:
		return false
	}
}

func exitStderr(err error) string {
	var ee *exec.ExitError
	if errors.As(err, &ee) && len(ee.Stderr) > 0 {
		return "\n" + string(ee.Stderr)
	}
	return ""
}

// Tail returns the last n lines of s.
func Tail(s string, n int) string {
	s = strings.TrimRight(s, "\n")
	lines := strings.Split(s, "\n")
	if len(lines) > n {
		lines = append([]string{"..."}, lines[len(lines)-n:]...)
	}
	return strings.Join(lines, "\n")
}

// TailFile returns the last n lines of the file at path (reading at most
// the last 256 KiB).
func TailFile(path string, n int) string {
	f, err := os.Open(path)
	if err != nil {
		return "(" + err.Error() + ")"
	}
	defer f.Close()
	const max = 256 << 10
	var off int64
	if st, err := f.Stat(); err == nil && st.Size() > max {
		off = st.Size() - max
	}
	buf := make([]byte, max)
	k, _ := f.ReadAt(buf, off)
	if k == 0 {
		return "(empty)"
	}
	return Tail(string(buf[:k]), n)
}

// PortFree reports whether a TCP port on 127.0.0.1 can be bound now.
func PortFree(port int) (bool, error) {
	l, err := net.Listen("tcp", "127.0.0.1:"+strconv.Itoa(port))
	if err != nil {
		return false, nil
	}
	return true, l.Close()
}
