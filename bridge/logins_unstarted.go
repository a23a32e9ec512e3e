package bridge

import (
	"context"
	"errors"
	"fmt"
	"sort"

	"github.com/rs/zerolog"
	"maunium.net/go/mautrix/id"

	"github.com/ferrybridge/ferry/bridge/network"
)

// unstartedLogin is a stored login whose network could not load it
// (LoadLogin failed): it has no client. Its user still sees it in
// `status`, can retry it with `reconnect` and forget it with `logout`.
// It is kept in memory only: the row stays stored, and the next start
// of Ferry finds it again.
type unstartedLogin struct {
	net   network.NetworkID
	login *network.Login
	// reason is why the last load failed; written under b.loginLock.
	reason error
	// retrying, while a `reconnect` loads it, is closed once that load
	// is over (under b.loginLock): a logout or another retry waits for
	// it, so that no client the network loaded is left behind unknown.
	retrying chan struct{}
}

// errLoginMovedOn is a retry's answer for an unstarted login that was
// started or logged out while its network loaded it.
var errLoginMovedOn = network.UserErrorf("it was started or logged out meanwhile")

// errRowKept is forgetUnstarted's error when the stored login could not
// be deleted: it stays, still unstarted.
var errRowKept = errors.New("delete unstarted login")

// noteUnstarted remembers a stored login that could not be loaded.
func (b *Bridge) noteUnstarted(net network.NetworkID, login *network.Login, reason error) {
	b.loginLock.Lock()
	defer b.loginLock.Unlock()
	if b.unstarted == nil {
		b.unstarted = make(map[loginKey]*unstartedLogin)
	}
	key := loginKey{net, login.ID}
	if b.logins[key] != nil {
		// Started meanwhile (a new link of the account): it runs.
		return
	}
	b.unstarted[key] = &unstartedLogin{net: net, login: login, reason: reason}
}

// userUnstarted lists a user's unstarted logins, on one network or (net
// "") on all, in a stable order.
func (b *Bridge) userUnstarted(user id.UserID, net network.NetworkID) []*unstartedLogin {
	b.loginLock.RLock()
	var out []*unstartedLogin
	for key, u := range b.unstarted {
		if u.login.User == user && (net == "" || key.net == net) {
			out = append(out, u)
		}
	}
	b.loginLock.RUnlock()
	sort.Slice(out, func(i, j int) bool {
		if out[i].net != out[j].net {
			return out[i].net < out[j].net
		}
		return out[i].login.ID < out[j].login.ID
	})
	return out
}

// unstartedReason is why u could not be started, for the user's Markdown.
func (b *Bridge) unstartedReason(u *unstartedLogin) string {
	b.loginLock.RLock()
	defer b.loginLock.RUnlock()
	return userMessage(u.reason, "an internal error")
}

// retryUnstarted loads u again and, if its network loads it now, runs it
// as any login. A login started or logged out while it loaded is left
// as it is now (errLoginMovedOn).
func (b *Bridge) retryUnstarted(ctx context.Context, u *unstartedLogin) error {
	if err := b.claimUnstarted(ctx, u); err != nil {
		return err
	}
	defer b.releaseUnstarted(u)
	_, err := b.startLoginIn(ctx, u.net, u.login, nil, u)
	if err == nil || errors.Is(err, errLoginMovedOn) {
		return err
	}
	b.loginLock.Lock()
	if b.unstarted[loginKey{u.net, u.login.ID}] == u {
		u.reason = err
	}
	b.loginLock.Unlock()
	zerolog.Ctx(ctx).Err(err).Str("network", string(u.net)).Str("login", string(u.login.ID)).Msg("Failed to load login again")
	return err
}

// forgetUnstarted deletes the stored row of u and lets its network drop
// what it keeps of it (network.LoginForgetter). remoteLeft is the
// network's word on what stays linked on its side. ok is false when u
// was started or forgotten meanwhile: then nothing was done.
func (b *Bridge) forgetUnstarted(ctx context.Context, u *unstartedLogin) (remoteLeft string, ok bool, err error) {
	key := loginKey{u.net, u.login.ID}
	if err := b.claimUnstarted(ctx, u); errors.Is(err, errLoginMovedOn) {
		return "", false, nil
	} else if err != nil {
		return "", true, fmt.Errorf("%w: %w", errRowKept, err)
	}
	b.loginLock.Lock()
	delete(b.unstarted, key)
	b.loginLock.Unlock()
	// Taken out, u is no one's to wait for any more.
	b.releaseUnstarted(u)
	if err := b.DB.Logins.Delete(ctx, u.net, u.login.ID); err != nil {
		b.loginLock.Lock()
		if b.unstarted[key] == nil && b.logins[key] == nil {
			b.unstarted[key] = u
		}
		b.loginLock.Unlock()
		return "", true, fmt.Errorf("%w: %w", errRowKept, err)
	}
	if lf, ok := b.networks[u.net].connector.(network.LoginForgetter); ok {
		if remoteLeft, err = lf.ForgetLogin(ctx, u.login); err != nil {
			zerolog.Ctx(ctx).Err(err).Str("network", string(u.net)).Str("login", string(u.login.ID)).Msg("Network failed to forget an unstarted login")
		}
	}
	return remoteLeft, true, err
}

// claimUnstarted makes u the caller's to load or forget, once a retry
// loading it meanwhile is over: errLoginMovedOn if u was started or
// forgotten by then. releaseUnstarted hands it back.
func (b *Bridge) claimUnstarted(ctx context.Context, u *unstartedLogin) error {
	key := loginKey{u.net, u.login.ID}
	for {
		b.loginLock.Lock()
		if b.unstarted[key] != u {
			b.loginLock.Unlock()
			return errLoginMovedOn
		}
		wait := u.retrying
		if wait == nil {
			u.retrying = make(chan struct{})
			b.loginLock.Unlock()
			return nil
		}
		b.loginLock.Unlock()
		flowHook(unstartedAwaited)
		select {
		case <-wait:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// releaseUnstarted ends the caller's claim on u (claimUnstarted).
func (b *Bridge) releaseUnstarted(u *unstartedLogin) {
	b.loginLock.Lock()
	done := u.retrying
	u.retrying = nil
	b.loginLock.Unlock()
	if done != nil {
		close(done)
	}
}
