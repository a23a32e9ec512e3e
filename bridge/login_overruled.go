package bridge

import (
	"fmt"
	"sync/atomic"

	"maunium.net/go/mautrix/id"

	"github.com/ferrybridge/ferry/bridge/network"
)

// A logout (or cancel) the user gives while a login flow completes wins
// over the flow. The network may complete a login after the user logged
// out of that account (a relink they gave up on), and the core stores and
// starts it in steps a command may come between. So the logout marks the
// user's flow on that network, and the flow checks the mark before it
// stores the login and again, under the flow's lock, once it started it:
// an overruled login is undone, its client logged out. A logout that comes
// after the second check finds the started login, and logs it out itself,
// once the flow has told the user it is logged in: told the other way
// round, the user would read last that the login they left is in.

// overruled reports whether the login id, completed by f's network, is
// one its user logged out of (or the flow was stopped) meanwhile.
func (f *loginFlow) overruled(login network.LoginID) bool {
	f.lock.Lock()
	defer f.lock.Unlock()
	return f.dropAll || f.loggedOut[login]
}

// loggedOutOf reports whether f's user logged out of the login id
// meanwhile (a cancel of the flow is no logout of it).
func (f *loginFlow) loggedOutOf(login network.LoginID) bool {
	f.lock.Lock()
	defer f.lock.Unlock()
	return f.loggedOut[login]
}

// onlyCancelled reports whether f was overruled by a `cancel` alone:
// not stopped by a logout, and not logged out of the login id.
func (f *loginFlow) onlyCancelled(login network.LoginID) bool {
	f.lock.Lock()
	defer f.lock.Unlock()
	return f.dropAll && !f.byLogout && !f.loggedOut[login]
}

// keep decides, once and for good, that f keeps the login id unless it
// was overruled; a later logout finds the login running, and waits until
// f told its user it is logged in (overruleFlow).
func (f *loginFlow) keep(login network.LoginID) bool {
	f.lock.Lock()
	defer f.lock.Unlock()
	if f.dropAll || f.loggedOut[login] {
		return false
	}
	f.kept, f.keptID = true, login
	return true
}

// toldKept marks the user told of the login f kept (or f ended).
func (f *loginFlow) toldKept() {
	f.tellOnce.Do(func() { close(f.told) })
}

// flowOn is user's running login flow on net, or nil.
func (b *Bridge) flowOn(user id.UserID, net network.NetworkID) *loginFlow {
	b.flowLock.Lock()
	defer b.flowLock.Unlock()
	if flow := b.flows[user]; flow != nil && flow.net == net {
		return flow
	}
	return nil
}

// flowsCompleting are user's login flows on net that may still complete
// a login: the running one, and those a cancel stopped that run on.
func (b *Bridge) flowsCompleting(user id.UserID, net network.NetworkID) []*loginFlow {
	b.flowLock.Lock()
	defer b.flowLock.Unlock()
	var out []*loginFlow
	if flow := b.flows[user]; flow != nil && flow.net == net {
		out = append(out, flow)
	}
	for flow := range b.cancelled {
		if flow.user == user && flow.net == net {
			out = append(out, flow)
		}
	}
	return out
}

// overruleFlow marks user's login flows on net, if any, so that they do
// not keep the login id they are logging out of. If a flow has kept it
// already, the returned channel is closed once the flow has told the
// user it is logged in: the logout waits for that, so that what the user
// reads last is the logout (nil: nothing to wait for). A flow the user
// cancelled is marked too: it may have completed that login, and would
// otherwise undo it with an answer of its own ("Login cancelled: ...")
// besides the logout's, or tell it in after the logout.
func (b *Bridge) overruleFlow(user id.UserID, net network.NetworkID, login network.LoginID) <-chan struct{} {
	var told <-chan struct{}
	for _, flow := range b.flowsCompleting(user, net) {
		flow.lock.Lock()
		if flow.kept && flow.keptID == login {
			told = flow.told
		} else {
			if flow.loggedOut == nil {
				flow.loggedOut = make(map[network.LoginID]bool)
			}
			flow.loggedOut[login] = true
		}
		flow.lock.Unlock()
	}
	return told
}

// flowStop is what a logout's stopFlowOn did to a login flow.
type flowStop int

const (
	// noFlowStopped: there is no such flow, or it has already kept its
	// login (which runs, to be logged out as any other).
	noFlowStopped flowStop = iota
	// flowStopped: the logout stopped the flow, and answers for its end.
	flowStopped
	// flowEndedItself: the flow had ended without a login just before,
	// and tells the user so itself ("Login failed: ..."), which answers
	// the logout too: nothing of it is kept.
	flowEndedItself
)

// stopFlowOn ends user's login flow on net, which keeps nothing it
// completes from now on: a logout of a login that is still being made.
func (b *Bridge) stopFlowOn(user id.UserID, net network.NetworkID) flowStop {
	flow := b.flowOn(user, net)
	if flow == nil {
		return noFlowStopped
	}
	flow.lock.Lock()
	// A flow stopped because its room was shared (login_shared.go) has
	// its end's notice on its way, which answers the logout too.
	kept, ending := flow.kept, flow.ending || flow.shared
	if !kept && !ending {
		flow.byLogout = true // the logout answers for the flow's end
	}
	flow.lock.Unlock()
	switch {
	case kept:
		return noFlowStopped
	case ending:
		return flowEndedItself
	}
	// cancelLoginFlow marks it (dropAll) under its lock; a keep in
	// between wins, and the login is logged out as a running one.
	if b.cancelLoginFlow(user) && !flow.wasKept() {
		return flowStopped
	}
	return noFlowStopped
}

// endWithoutLogin marks f ended without a login, and reports whether a
// logout stopped it first (and so answers for its end).
func (f *loginFlow) endWithoutLogin() (byLogout bool) {
	f.lock.Lock()
	defer f.lock.Unlock()
	f.ending = true
	return f.byLogout
}

// stoppedByLogout reports whether a logout stopped f (stopFlowOn), and
// so told its user how it ended.
func (f *loginFlow) stoppedByLogout() bool {
	f.lock.Lock()
	defer f.lock.Unlock()
	return f.byLogout
}

func (f *loginFlow) wasKept() bool {
	f.lock.Lock()
	defer f.lock.Unlock()
	return f.kept
}

// dropEntry stops running le, unless another start replaced it.
func (b *Bridge) dropEntry(le *loginEntry) {
	key := loginKey{le.net, le.login.Load().ID}
	b.loginLock.Lock()
	if b.logins[key] == le {
		delete(b.logins, key)
	}
	b.loginLock.Unlock()
	le.lock.Lock()
	if le.downTimer != nil {
		le.downTimer.Stop()
		le.downTimer = nil
	}
	le.lock.Unlock()
}

// noticeNotKept tells the user that the login their flow completed was
// undone, because they logged out of it or cancelled the flow meanwhile;
// each in the words of what they did.
func (b *Bridge) noticeNotKept(flow *loginFlow, login *network.Login) {
	name := network.Literal(login.RemoteName)
	text := fmt.Sprintf("Logged out of %s (%s), as you asked while the login was completing: it is not kept.",
		b.NetworkName(flow.net), name)
	if !flow.loggedOutOf(login.ID) {
		text = fmt.Sprintf("Login cancelled: the %s login (%s), which completed meanwhile, is undone and not kept.",
			b.NetworkName(flow.net), name)
	}
	// The flow's context may have ended with the cancel or the stop.
	b.notice(b.ctx, flow.room, text)
}

// Points of completeLogin where a test can hold the flow, to give a
// command (a logout) in that window deterministically.
const (
	flowStarted = "started" // stored and started, not yet kept
	flowKept    = "kept"    // kept, the user not yet told
	flowEnding  = "ending"  // ended without a login, the user not yet told
	flowEndTold = "told"    // ended without a login, the user told
	// flowKeptTold: kept, the user told, the flow out of the running
	// ones; its codes not yet deleted.
	flowKeptTold = "kept told"
	// loginRegistered is in startLogin: a login whose client the core
	// loaded is registered as running, its client not yet connected.
	loginRegistered = "registered"
	// unstartedAwaited: a logout or retry of a login that could not be
	// started waits for another retry's load of it (logins_unstarted.go).
	unstartedAwaited = "unstarted awaited"
)

// flowHookFn is set by tests only (export_test.go).
var flowHookFn atomic.Pointer[func(point string)]

func flowHook(point string) {
	if fn := flowHookFn.Load(); fn != nil {
		(*fn)(point)
	}
}
