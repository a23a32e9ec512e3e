package whatsapp

import (
	"context"
	"errors"
	"testing"
	"time"
)

// handedAloneCount is how many devices handed to the core alone the
// connector still keeps.
func handedAloneCount(env *loginEnv) int {
	env.conn.lock.Lock()
	defer env.conn.lock.Unlock()
	return len(env.conn.handedAlone)
}

// TestDiscardedSlowLinkIsForgotten: the core could not store a relink
// handed over without a client and cancelled the flow; the discard
// unlinked the new device. The core never loads that login, so nothing
// but the end of the discard can forget the flow: the connector must not
// keep it (with its device and whatsmeow client) for as long as Ferry
// runs. A LoadLogin still to come from a core that was storing the login
// is refused all the same for a while.
func TestDiscardedSlowLinkIsForgotten(t *testing.T) {
	saved := discardedMemory
	t.Cleanup(func() { discardedMemory = saved })
	discardedMemory = time.Second
	env := newLoginEnv(t, "connect_timeout: 1s")
	old := linkedBefore(t, env)
	p, done := relinkUntilReconnect(t, env)
	res := waitResult(t, done)
	if res.err != nil || res.step.Client != nil {
		t.Fatalf("Wait = %+v, %v", res.step, res.err)
	}
	bare := bareOn(env)

	p.Cancel() // the core failed to store the login
	checkNewDeviceDiscarded(t, env, p, bare, old)
	if n := handedAloneCount(env); n != 0 {
		t.Errorf("the connector still keeps %d discarded login(s) handed over alone once the discard completed", n)
	}
	if _, err := env.conn.LoadLogin(context.Background(), res.step.Login); !errors.Is(err, errDiscardedLogin) {
		t.Errorf("a LoadLogin of the discarded device right after its discard = %v, want errDiscardedLogin", err)
	}
	time.Sleep(discardedMemory + 200*time.Millisecond)
	env.conn.lock.Lock()
	left := len(env.conn.discardedAlone)
	env.conn.lock.Unlock()
	if left != 0 {
		t.Errorf("the connector still remembers %d discarded device(s) after %s", left, discardedMemory)
	}
}
