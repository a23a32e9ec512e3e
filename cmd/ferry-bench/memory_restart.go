package main

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"gopkg.in/irc.v4"

	"github.com/ferrybridge/ferry/internal/localhs"
	"github.com/ferrybridge/ferry/irc/ircconn"
)

// The restart part of the startup scenario: the start-up figure
// runs "until all K logins are registered on IRC and all portals are
// usable". The logins alone are timed above, from a database with logins
// and nothing else. Here Ferry restarts the way it does in use: K logins,
// each in a channel of its own whose portal room exists. A watcher on IRC
// writes a line into each channel the moment its login is back in it;
// a portal is usable again once that line has been bridged (its message
// row, stored after the homeserver's answer, is in Ferry's database).

// restartResult is the restart part's outcome.
type restartResult struct {
	Logins int `json:"logins"`
	// SetupS is the first run, which made the portals (not a start-up
	// figure: it includes creating K rooms and spaces).
	SetupS      float64 `json:"setup_run_s"`
	PortMs      float64 `json:"appservice_port_ms"`
	AllLoginsMs float64 `json:"all_logins_registered_ms"`
	// AllInMs: the last login back in its channel, as the watcher saw it.
	AllInMs float64 `json:"all_logins_in_their_channels_ms"`
	// AllUsableMs: every channel's line bridged.
	AllUsableMs float64 `json:"all_portals_usable_ms"`
}

// restartWatcher is the IRC clients in the channels of the restart part:
// one per watcherChannels channels (InspIRCd's maxchans is 100).
type restartWatcher struct {
	mu      sync.Mutex
	round   int                  // which run's JOINs count
	in      map[string]time.Time // casefolded channel -> its login's JOIN this round
	lastIn  time.Time
	sendErr error
	changed changeSignal
}

// watcherChannels is how many channels one watcher client joins.
const watcherChannels = 50

// handle runs for the lines conn reads (conn is set before any JOIN).
func (w *restartWatcher) handle(conn **ircconn.Conn, m *irc.Message) {
	if m.Command != "JOIN" || m.Prefix == nil || len(m.Params) < 1 {
		return
	}
	channel := strings.ToLower(m.Params[0])
	// The login of channel #rNNNN is rNNNN.
	if !strings.EqualFold("#"+m.Prefix.Name, channel) {
		return
	}
	at := time.Now()
	w.mu.Lock()
	defer w.mu.Unlock()
	if _, seen := w.in[channel]; seen {
		return
	}
	w.in[channel] = at
	w.lastIn = at
	// The line goes out at once: the portal has to bridge it as soon as
	// its login is back.
	if err := (*conn).Send(&irc.Message{Command: "PRIVMSG", Params: []string{channel, fmt.Sprintf("line of round %d", w.round)}}); err != nil && w.sendErr == nil {
		w.sendErr = err
	}
	w.changed.notify()
}

// newRound forgets the JOINs seen so far.
func (w *restartWatcher) newRound(round int) {
	w.mu.Lock()
	w.round, w.in, w.lastIn = round, map[string]time.Time{}, time.Time{}
	w.mu.Unlock()
}

func (w *restartWatcher) waitIn(ctx context.Context, n int, timeout time.Duration) (time.Time, error) {
	var last time.Time
	err := waitUntil(ctx, &w.mu, &w.changed, timeout, func() (bool, error) {
		last = w.lastIn
		return len(w.in) >= n, w.sendErr
	})
	if errors.Is(err, errWaitTimeout) {
		w.mu.Lock()
		got := len(w.in)
		w.mu.Unlock()
		return last, fmt.Errorf("only %d of %d logins back in their channels after %s", got, n, timeout)
	}
	return last, err
}

func restartChannel(i int) string { return fmt.Sprintf("#r%04d", i) }

// restartScenario runs the restart part with k logins.
func (b *memBed) restartScenario(ctx context.Context, rep *memReport, k int) error {
	label := fmt.Sprintf("restart-%d", k)
	dbPath := filepath.Join(b.dir, label+".db")
	say("%s: registering %d Matrix users (the portals invite them)", label, k)
	for i := range k {
		if _, err := b.hs.RegisterUser(fmt.Sprintf("r%04d", i), localhs.RandomHex(8), false); err != nil {
			return err
		}
	}
	if err := b.seedLogins(ctx, dbPath, memNetPlain, "r", k, "", func(i int) []string { return []string{restartChannel(i)} }); err != nil {
		return err
	}
	w := &restartWatcher{changed: newChangeSignal(), in: map[string]time.Time{}}
	for first := 0; first < k; first += watcherChannels {
		conn := new(*ircconn.Conn)
		c, err := ircconn.Dial(ctx, ircconn.Config{
			Addr: b.ircd.Addr, Nick: fmt.Sprintf("watcher%d", first/watcherChannels), Unlimited: true,
			Handler: func(m *irc.Message) { w.handle(conn, m) },
		})
		if err != nil {
			return fmt.Errorf("watcher: %w", err)
		}
		w.mu.Lock()
		*conn = c
		w.mu.Unlock()
		defer c.Close("bye")
		for i := first; i < min(first+watcherChannels, k); i++ {
			if err := c.Send(&irc.Message{Command: "JOIN", Params: []string{restartChannel(i)}}); err != nil {
				return fmt.Errorf("watcher: %w", err)
			}
		}
	}
	base, err := b.observer.users()
	if err != nil {
		return err
	}
	// One read-only connection beside the Ferry that writes (WAL mode);
	// each count is its own transaction, so it sees every commit so far.
	db, err := sql.Open("sqlite3", "file:"+dbPath+"?mode=ro")
	if err != nil {
		return err
	}
	defer db.Close()
	db.SetMaxOpenConns(1)
	bridged := func() (n int, err error) {
		err = db.QueryRowContext(ctx, "SELECT COUNT(*) FROM message").Scan(&n)
		return n, err
	}

	// The first run makes the portals: each login joins its channel, the
	// watcher's line there creates the room.
	say("%s: first run, making %d portals", label, k)
	w.newRound(1)
	setup := time.Now()
	p, err := b.startFerry(label+"-setup", dbPath, 0)
	if err != nil {
		return err
	}
	if _, err := w.waitIn(ctx, k, 2*time.Minute); err != nil {
		p.stop()
		return p.withLog(err)
	}
	if _, err := waitCount(ctx, bridged, k, 5*time.Minute); err != nil {
		p.stop()
		return p.withLog(err)
	}
	r := restartResult{Logins: k, SetupS: round(time.Since(setup).Seconds())}
	if err := b.drain(ctx, p, base); err != nil {
		return err
	}

	// The restart.
	say("%s: restarting", label)
	w.newRound(2)
	p, portAt, st, err := b.startAndRestore(ctx, label, dbPath, 0, base, k)
	if err != nil {
		return err
	}
	lastIn, err := w.waitIn(ctx, k, 2*time.Minute)
	if err != nil {
		p.stop()
		return p.withLog(err)
	}
	usableAt, err := waitCount(ctx, bridged, 2*k, 2*time.Minute)
	if err != nil {
		p.stop()
		return p.withLog(err)
	}
	r.PortMs = toMs(portAt.Sub(p.started))
	r.AllLoginsMs = toMs(st.all.Sub(p.started))
	r.AllInMs = toMs(lastIn.Sub(p.started))
	r.AllUsableMs = toMs(usableAt.Sub(p.started))
	say("%s: port %.1f ms, logins registered %.1f ms, all in their channels %.1f ms, all portals usable %.1f ms", label, r.PortMs, r.AllLoginsMs, r.AllInMs, r.AllUsableMs)
	rep.Restart = &r
	return b.drain(ctx, p, base)
}

// waitCount polls count until it reaches want, and says when it did (to
// the poll's resolution, 10 ms).
func waitCount(ctx context.Context, count func() (int, error), want int, timeout time.Duration) (time.Time, error) {
	deadline := time.Now().Add(timeout)
	for {
		n, err := count()
		if err != nil {
			return time.Time{}, err
		}
		if n >= want {
			return time.Now(), nil
		}
		if time.Now().After(deadline) {
			return time.Time{}, fmt.Errorf("%d of %d messages bridged after %s", n, want, timeout)
		}
		select {
		case <-ctx.Done():
			return time.Time{}, ctx.Err()
		case <-time.After(10 * time.Millisecond):
		}
	}
}
