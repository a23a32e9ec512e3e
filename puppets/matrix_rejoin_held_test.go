package puppets

import (
	"sync"
	"testing"
	"time"

	"maunium.net/go/mautrix/appservice"
	"maunium.net/go/mautrix/id"
)

// startJoined starts hs with the bot and ghost stored as joined to its
// room, and returns the gateway and ghost's intent.
func startJoined(t *testing.T, hs *kickedGhostsHomeserver, ghost id.UserID) (*Matrix, *appservice.IntentAPI) {
	t.Helper()
	m := hs.start(t)
	storeJoined(t, m, hs.room, m.BotMXID(), ghost)
	return m, m.Intent(ghost)
}

// firstRefusalAfter is an onRefused that lets the first refusal be
// answered only once ch is closed, for 5 s at most.
func firstRefusalAfter(ch <-chan struct{}) func(n int) {
	return func(n int) {
		if n == 1 {
			select {
			case <-ch:
			case <-time.After(5 * time.Second):
			}
		}
	}
}

// heldJoin holds the ghost's joins again until let go: its hold is a
// kickedGhostsHomeserver's beforeJoin. held is closed once the first
// join is held.
type heldJoin struct {
	held, release         chan struct{}
	heldOnce, releaseOnce sync.Once
}

func newHeldJoin() *heldJoin {
	return &heldJoin{held: make(chan struct{}), release: make(chan struct{})}
}

// hold is beforeJoin: it holds the join until letGo.
func (j *heldJoin) hold() {
	j.heldOnce.Do(func() { close(j.held) })
	<-j.release
}

// letGo lets every held join, and every later one, go; it may be called
// more than once (a test defers it, so the homeserver can close).
func (j *heldJoin) letGo() {
	j.releaseOnce.Do(func() { close(j.release) })
}

// takenAfter is a beforeJoin for a join that hs takes, the ghost
// joined, once ready is closed (5 s at most), and answers only once let
// go; held 10 s at most, so that a send whose budget was over before its
// join (a loaded machine) fails the test rather than hang it.
func (j *heldJoin) takenAfter(hs *kickedGhostsHomeserver, ghost id.UserID, ready <-chan struct{}) func() {
	return func() {
		select {
		case <-ready:
		case <-time.After(5 * time.Second):
		}
		hs.mu.Lock()
		hs.joined[string(ghost)] = true
		hs.mu.Unlock()
		select {
		case <-j.release:
		case <-time.After(10 * time.Second):
		}
	}
}

// waitHeld waits until a join is held, for 5 s at most: a request the
// homeserver answers only then.
func (j *heldJoin) waitHeld() {
	select {
	case <-j.held:
	case <-time.After(5 * time.Second):
	}
}
