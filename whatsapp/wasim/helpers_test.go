package wasim

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sync"
	"testing"
	"time"

	_ "github.com/mattn/go-sqlite3"
	"github.com/rs/zerolog"
	"go.mau.fi/whatsmeow"
	"go.mau.fi/whatsmeow/store/sqlstore"
	"go.mau.fi/whatsmeow/types"
	"go.mau.fi/whatsmeow/types/events"
	waLog "go.mau.fi/whatsmeow/util/log"
)

// testLog buffers logs and prints them only if the test failed (or
// WASIM_TEST_LOG is set). Writes
// after the test ended (late goroutines in whatsmeow) are dropped instead
// of panicking in t.Log.
type testLog struct {
	mu   sync.Mutex
	buf  bytes.Buffer
	done bool
}

func (l *testLog) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if !l.done {
		l.buf.Write(p)
	}
	return len(p), nil
}

func newTestLogger(t *testing.T) zerolog.Logger {
	t.Helper()
	tl := &testLog{}
	t.Cleanup(func() {
		tl.mu.Lock()
		defer tl.mu.Unlock()
		tl.done = true
		if t.Failed() || os.Getenv("WASIM_TEST_LOG") != "" {
			t.Logf("log:\n%s", tl.buf.String())
		}
	})
	return zerolog.New(zerolog.ConsoleWriter{Out: tl, NoColor: true, TimeFormat: "15:04:05.000"}).
		With().Timestamp().Logger().Level(zerolog.DebugLevel)
}

// env is one simulator with the logger its clients share.
type env struct {
	t   *testing.T
	sim *Sim
	log zerolog.Logger
}

func newEnv(t *testing.T) *env {
	t.Helper()
	log := newTestLogger(t)
	// Not t.Context(): it ends before cleanups run, and the simulator
	// closing sockets while clients disconnect in their cleanups trips a
	// data race inside whatsmeow (NoiseSocket.Stop writes
	// FrameSocket.OnDisconnect unlocked). Registered first, sim.Close runs
	// after every client's Disconnect.
	sim, err := Start(context.Background(), Options{Log: log})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(sim.Close)
	return &env{t: t, sim: sim, log: log}
}

func (e *env) phone(number, name string) *Phone {
	e.t.Helper()
	p, err := e.sim.NewPhone(number, name)
	if err != nil {
		e.t.Fatal(err)
	}
	return p
}

// client is a whatsmeow client with an in-memory store and a channel of
// its events.
type client struct {
	cli    *whatsmeow.Client
	events chan any
}

var dbNameSanitizer = regexp.MustCompile(`[^A-Za-z0-9]`)

func (e *env) newClient(name string) *client {
	t := e.t
	t.Helper()
	// A file, not a shared-cache in-memory database: with shared cache,
	// concurrent writers (a prekey upload while a message is decrypted)
	// fail at once with "table is locked", which no busy timeout covers.
	// Transactions take the write lock when they begin: one that reads
	// first and upgrades later fails at once with "database is locked"
	// when another writer holds it, again past the busy timeout.
	uri := fmt.Sprintf("file:%s?_foreign_keys=on&_busy_timeout=10000&_journal_mode=WAL&_txlock=immediate",
		filepath.Join(t.TempDir(), dbNameSanitizer.ReplaceAllString(name, "_")+".db"))
	clog := e.log.With().Str("client", name).Logger()
	container, err := sqlstore.New(t.Context(), "sqlite3", uri, waLog.Zerolog(clog.With().Str("module", "db").Logger()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = container.Close() })
	cli := whatsmeow.NewClient(container.NewDevice(), waLog.Zerolog(clog))
	// Reconnect attempts after the test would only add noise.
	cli.EnableAutoReconnect = false
	e.sim.Configure(cli)
	c := &client{cli: cli, events: make(chan any, 1024)}
	cli.AddEventHandler(func(evt any) {
		select {
		case c.events <- evt:
		default:
			// Not t.Errorf: this may run after the test ended.
			clog.Error().Type("event", evt).Msg("Test event buffer full, event dropped")
		}
	})
	t.Cleanup(cli.Disconnect)
	return c
}

// waitFor returns the next event of type T, skipping others, or fails
// the test after timeout.
func waitFor[T any](t *testing.T, c *client, timeout time.Duration) T {
	t.Helper()
	deadline := time.After(timeout)
	for {
		select {
		case evt := <-c.events:
			if v, ok := evt.(T); ok {
				return v
			}
		case <-deadline:
			var zero T
			t.Fatalf("timed out after %s waiting for %T", timeout, zero)
			return zero
		case <-t.Context().Done():
			var zero T
			t.Fatalf("test context ended waiting for %T", zero)
			return zero
		}
	}
}

// pair connects an unpaired client, scans its first QR code with phone
// and waits until the client is logged in.
func (e *env) pair(c *client, phone *Phone) {
	t := e.t
	t.Helper()
	if err := c.cli.Connect(); err != nil {
		t.Fatalf("connect: %v", err)
	}
	qr := waitFor[*events.QR](t, c, 10*time.Second)
	if len(qr.Codes) == 0 {
		t.Fatal("QR event without codes")
	}
	if err := phone.ScanQR(t.Context(), qr.Codes[0]); err != nil {
		t.Fatalf("scan: %v", err)
	}
	waitFor[*events.PairSuccess](t, c, 10*time.Second)
	waitFor[*events.Connected](t, c, 10*time.Second)
}

// waitForMessage returns the next message event that is not only a
// sender key distribution: whatsmeow dispatches the pairwise part of a
// group message (carrying just the SKDM) as an events.Message of its own.
func waitForMessage(t *testing.T, c *client, timeout time.Duration) *events.Message {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		msg := waitFor[*events.Message](t, c, time.Until(deadline))
		m := msg.Message
		if m.GetSenderKeyDistributionMessage() != nil && m.GetConversation() == "" && m.GetExtendedTextMessage() == nil {
			continue
		}
		return msg
	}
}

// expectNone fails if an event of type T arrives within d. Use it after
// an event that was delivered in the same batch, so d only covers
// in-flight delivery.
func expectNone[T any](t *testing.T, c *client, d time.Duration) {
	t.Helper()
	deadline := time.After(d)
	for {
		select {
		case evt := <-c.events:
			if v, ok := evt.(T); ok {
				t.Errorf("unexpected %T: %+v", v, v)
			}
		case <-deadline:
			return
		}
	}
}

// waitSettled waits until the simulator holds nothing unacknowledged for
// the device jid, i.e. its client has processed everything sent to it.
func waitSettled(t *testing.T, sim *Sim, jid types.JID) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		sim.mu.Lock()
		d := sim.lookupDeviceLocked(jid)
		n := -1
		if d != nil {
			n = len(d.pending)
		}
		sim.mu.Unlock()
		if n == 0 {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatalf("%s still has unacknowledged stanzas", jid)
}

// aliceAndBob are two accounts, each with one paired, connected client:
// the cast of most messaging tests.
func (e *env) aliceAndBob() (alicePhone, bobPhone *Phone, alice, bob *client) {
	e.t.Helper()
	alicePhone, bobPhone = e.phone("15550001111", "Alice"), e.phone("15550002222", "Bob")
	alice, bob = e.newClient("alice"), e.newClient("bob")
	e.pair(alice, alicePhone)
	e.pair(bob, bobPhone)
	return alicePhone, bobPhone, alice, bob
}
