package bridge

import (
	"context"
	"fmt"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"maunium.net/go/mautrix/id"

	"github.com/ferrybridge/ferry/bridge/network"
	"github.com/ferrybridge/ferry/database"
)

// DownNoticeAfter is how long a login may be disconnected before its user
// hears about it. Reconnects shorter than this stay quiet.
var DownNoticeAfter = 3 * time.Minute

type loginKey struct {
	net network.NetworkID
	id  network.LoginID
}

// loginEntry is a login the bridge runs: its stored record, its client and
// its last reported connection state.
type loginEntry struct {
	// login is replaced whole when the network saves it (SaveLogin), and
	// read from every goroutine.
	login  atomic.Pointer[network.Login]
	net    network.NetworkID
	client network.Client

	lock         sync.Mutex
	state        network.State
	stateSince   time.Time
	downNotified bool
	downTimer    *time.Timer
}

func toNetworkLogin(row *database.Login) *network.Login {
	return &network.Login{ID: row.ID, User: row.UserMXID, RemoteName: row.RemoteName, RemoteUser: row.RemoteUser, Metadata: row.Metadata}
}

// loadLogins connects every stored login, in the background.
func (b *Bridge) loadLogins(ctx context.Context) {
	b.warnUnbuiltLogins(ctx)
	for _, net := range b.order {
		rows, err := b.DB.Logins.ByNetwork(ctx, net)
		if err != nil {
			b.Log.Err(err).Str("network", string(net)).Msg("Failed to load logins")
			continue
		}
		if len(rows) > 0 {
			b.endStartupGC()
		}
		for _, row := range rows {
			login := toNetworkLogin(row)
			if _, err = b.startLogin(ctx, net, login, nil); err != nil {
				b.Log.Err(err).Str("network", string(net)).Str("login", string(row.ID)).Msg("Failed to load login")
				// Its user would otherwise see only silence: the login
				// stays stored, listed in `status`, and the next start
				// tries it again.
				b.noteUnstarted(net, login, err)
				b.noticeUserLater(row.UserMXID, fmt.Sprintf("⚠️ Ferry could not start your %s login (%s): %s It stays stored; the administrator can see why in the bridge log. Send %s to try again, or %s to forget it; the next start of Ferry tries again too.",
					b.NetworkName(net), network.Literal(row.RemoteName), sentence(userMessage(err, "an internal error")),
					network.CodeSpan(fmt.Sprintf("reconnect %s %s", net, row.RemoteName)), network.CodeSpan(fmt.Sprintf("logout %s %s", net, row.RemoteName))))
			}
		}
	}
}

// warnUnbuiltLogins tells the administrator about stored logins on
// networks this build does not run (a build without WhatsApp over a
// database that has WhatsApp logins): they stay stored, untouched, and
// come back with a build that has the network.
func (b *Bridge) warnUnbuiltLogins(ctx context.Context) {
	counts, err := b.DB.Logins.CountByNetwork(ctx)
	if err != nil {
		b.Log.Err(err).Msg("Failed to count stored logins")
		return
	}
	for net, n := range counts {
		if _, built := b.networks[net]; !built {
			b.Log.Warn().Str("network", string(net)).Int("logins", n).
				Msg("Stored logins on a network this build of Ferry does not include are not restored")
		}
	}
}

// startLogin registers a login as running, and returns its entry. client
// may be nil, in which case the connector loads it and it is connected
// here. A login of the same key that could not be started is replaced.
func (b *Bridge) startLogin(ctx context.Context, net network.NetworkID, login *network.Login, client network.Client) (*loginEntry, error) {
	return b.startLoginIn(ctx, net, login, client, nil)
}

// startLoginIn is startLogin; with retried set, only in retried's place:
// a login started or logged out while its network loaded it is left so
// (errLoginMovedOn).
func (b *Bridge) startLoginIn(ctx context.Context, net network.NetworkID, login *network.Login, client network.Client, retried *unstartedLogin) (*loginEntry, error) {
	entry, ok := b.networks[net]
	if !ok {
		return nil, fmt.Errorf("unknown network %q", net)
	}
	connect := client == nil
	if connect {
		var err error
		if client, err = entry.connector.LoadLogin(ctx, login); err != nil {
			return nil, fmt.Errorf("load login: %w", err)
		}
	}
	le := &loginEntry{net: net, client: client, state: network.State{Kind: network.StateConnecting}, stateSince: time.Now()}
	le.login.Store(login)
	// A login that never gets anywhere is reported like any outage.
	le.lock.Lock()
	b.applyState(le, le.state)
	le.lock.Unlock()
	key := loginKey{net, login.ID}
	b.loginLock.Lock()
	if retried != nil && b.unstarted[key] != retried {
		b.loginLock.Unlock()
		le.lock.Lock()
		if le.downTimer != nil {
			le.downTimer.Stop()
		}
		le.lock.Unlock()
		client.Disconnect()
		return nil, errLoginMovedOn
	}
	delete(b.unstarted, key)
	old := b.logins[key]
	b.logins[key] = le
	b.loginLock.Unlock()
	if old != nil {
		old.lock.Lock()
		if old.downTimer != nil {
			old.downTimer.Stop()
			old.downTimer = nil
		}
		old.lock.Unlock()
		if old.client != client {
			old.client.Disconnect()
		}
	}
	if connect {
		flowHook(loginRegistered)
		client.Connect(b.ctx)
	}
	return le, nil
}

// saveLogin stores a login record. before is the record it replaced, nil
// when the login is new.
func (b *Bridge) saveLogin(ctx context.Context, net network.NetworkID, login *network.Login) (before *database.Login, err error) {
	row, err := b.DB.Logins.Get(ctx, net, login.ID)
	if err != nil {
		return nil, fmt.Errorf("load login: %w", err)
	}
	if row == nil {
		row = &database.Login{Network: net, ID: login.ID}
	} else {
		was := *row
		before = &was
	}
	row.UserMXID, row.RemoteName, row.RemoteUser, row.Metadata = login.User, login.RemoteName, login.RemoteUser, login.Metadata
	if err = b.DB.Logins.Put(ctx, row); err != nil {
		return nil, fmt.Errorf("store login: %w", err)
	}
	return before, nil
}

// removeLogin disconnects and forgets a login. Its portals and their
// history stay: logging in again picks them up.
func (b *Bridge) removeLogin(ctx context.Context, net network.NetworkID, loginID network.LoginID) error {
	b.loginLock.Lock()
	le := b.logins[loginKey{net, loginID}]
	delete(b.logins, loginKey{net, loginID})
	delete(b.unstarted, loginKey{net, loginID})
	b.loginLock.Unlock()
	if le != nil {
		le.lock.Lock()
		if le.downTimer != nil {
			le.downTimer.Stop()
		}
		le.lock.Unlock()
		le.client.Disconnect()
	}
	return b.DB.Logins.Delete(ctx, net, loginID)
}

func (b *Bridge) loginEntry(net network.NetworkID, loginID network.LoginID) *loginEntry {
	b.loginLock.RLock()
	defer b.loginLock.RUnlock()
	return b.logins[loginKey{net, loginID}]
}

// Login implements portals.Directory.
func (b *Bridge) Login(net network.NetworkID, loginID network.LoginID) *network.Login {
	if le := b.loginEntry(net, loginID); le != nil {
		return le.login.Load()
	}
	return nil
}

// Client implements portals.Directory.
func (b *Bridge) Client(net network.NetworkID, loginID network.LoginID) (network.Client, bool) {
	if le := b.loginEntry(net, loginID); le != nil {
		return le.client, true
	}
	return nil, false
}

// userLogins lists a user's running logins, on one network or (net "")
// on all, in a stable order.
func (b *Bridge) userLogins(user id.UserID, net network.NetworkID) []*loginEntry {
	b.loginLock.RLock()
	var out []*loginEntry
	for key, le := range b.logins {
		if le.login.Load().User == user && (net == "" || key.net == net) {
			out = append(out, le)
		}
	}
	b.loginLock.RUnlock()
	sort.Slice(out, func(i, j int) bool {
		if out[i].net != out[j].net {
			return out[i].net < out[j].net
		}
		return out[i].login.Load().ID < out[j].login.Load().ID
	})
	return out
}

// reportState records a login's state and tells its user, debounced: a
// state that needs action at once, an outage only once it has lasted
// DownNoticeAfter, and the recovery only if the outage was reported.
func (b *Bridge) reportState(net network.NetworkID, loginID network.LoginID, st network.State) {
	le := b.loginEntry(net, loginID)
	if le == nil {
		b.Log.Warn().Str("network", string(net)).Str("login", string(loginID)).Msg("State reported for unknown login")
		return
	}
	b.setState(le, func() network.State { return st })
}

// setState records the state that state returns, which it reads under
// le.lock: a report that comes meanwhile waits, and is newer.
func (b *Bridge) setState(le *loginEntry, state func() network.State) {
	le.lock.Lock()
	defer le.lock.Unlock()
	st := state()
	if le.state == st {
		return
	}
	prev := le.state
	le.state, le.stateSince = st, time.Now()
	b.Log.Info().Str("network", string(le.net)).Str("login", string(le.login.Load().ID)).
		Str("state", string(st.Kind)).Str("previous", string(prev.Kind)).Str("reason", st.Message).Msg("Login state changed")
	b.applyState(le, st)
}

// applyState decides the notices for a new state; le.lock is held. The
// down timer runs from the first state that is not "connected" and is not
// restarted by the states a reconnecting network passes through, so a
// long outage is reported once, on time, however busily it is retried.
func (b *Bridge) applyState(le *loginEntry, st network.State) {
	// The account's name may be the user's typing (an IRC nick may hold
	// a backtick): shown as it is, not as Markdown.
	name := fmt.Sprintf("%s (%s)", b.NetworkName(le.net), network.Literal(le.login.Load().RemoteName))
	stopTimer := func() {
		if le.downTimer != nil {
			le.downTimer.Stop()
			le.downTimer = nil
		}
	}
	switch {
	case st.Kind == network.StateConnected:
		stopTimer()
		if le.downNotified {
			le.downNotified = false
			b.noticeUserLater(le.login.Load().User, fmt.Sprintf("✅ %s is connected again.", name))
		}
	case st.Kind.NeedsAction():
		stopTimer()
		le.downNotified = true
		b.noticeUserLater(le.login.Load().User, fmt.Sprintf("⚠️ %s needs your attention: %s", name, stateMarkdown(st)))
	case le.downTimer == nil && !le.downNotified:
		after := DownNoticeAfter
		le.downTimer = time.AfterFunc(after, func() {
			le.lock.Lock()
			current := le.state
			down := current.Kind != network.StateConnected && !current.Kind.NeedsAction() && le.downTimer != nil
			if down {
				le.downNotified = true
				le.downTimer = nil
			}
			le.lock.Unlock()
			if down {
				b.noticeUserLater(le.login.Load().User, fmt.Sprintf("⚠️ %s has been disconnected for %s: %s. Ferry keeps trying.", name, after.Round(time.Second), stateMarkdown(current)))
			}
		})
	}
}

// stopDownTimers ends the logins' pending outage notices, at Stop.
func (b *Bridge) stopDownTimers() {
	b.loginLock.RLock()
	defer b.loginLock.RUnlock()
	for _, le := range b.logins {
		le.lock.Lock()
		if le.downTimer != nil {
			le.downTimer.Stop()
			le.downTimer = nil
		}
		le.lock.Unlock()
	}
}

// noticeUserLater tells user text in the background (callers hold a
// login's lock), unless the bridge is stopping.
func (b *Bridge) noticeUserLater(user id.UserID, text string) {
	b.background(func() { b.noticeUser(b.ctx, user, text) })
}

// stateMarkdown is a login's state for the bot's Markdown (notices,
// `status`): the state's message may carry a server's words (a
// disconnect's reason), shown as written, its code spans kept, as a
// network's other messages are (userMarkdown).
func stateMarkdown(st network.State) string {
	if st.Message != "" {
		return fmt.Sprintf("%s (%s)", st.Kind, userMarkdown(st.Message))
	}
	return string(st.Kind)
}

// UserLogins implements portals.Directory.
func (b *Bridge) UserLogins(user id.UserID, net network.NetworkID) []*network.Login {
	entries := b.userLogins(user, net)
	out := make([]*network.Login, len(entries))
	for i, le := range entries {
		out[i] = le.login.Load()
	}
	return out
}

// handedOverState records the state of a client the network handed over
// with its completed login, which the core did not connect and so has
// heard nothing from: what the client says it is (network.CurrentStater),
// or else connected, as the contract has it. A login replaced or logged
// out meanwhile is left alone.
func (b *Bridge) handedOverState(le *loginEntry) {
	if b.loginEntry(le.net, le.login.Load().ID) != le {
		return
	}
	b.setState(le, func() network.State {
		if cs, ok := le.client.(network.CurrentStater); ok {
			return cs.CurrentState()
		}
		return network.State{Kind: network.StateConnected}
	})
}
