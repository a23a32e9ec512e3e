package whatsapp

import (
	"context"
	"encoding/json"
	"errors"
	"sync"
	"testing"
	"time"

	"go.mau.fi/whatsmeow/types/events"

	"github.com/ferrybridge/ferry/bridge/network"
)

// bareOn has every client made from now on for the new device ownDev
// (the bare client that unlinks a device, relink_offline.go) logged in by
// WhatsApp once it connects, and its Logout delete the device as whatsmeow's
// does. It returns the fake of the latest such client.
func bareOn(env *loginEnv) func() *fakeWA {
	var mu sync.Mutex
	var bare *fakeWA
	env.setup = func(f *fakeWA) {
		f.deleteOnLogout = true
		if f.Client.Store.ID == nil || *f.Client.Store.ID != ownDev {
			return
		}
		mu.Lock()
		bare = f
		mu.Unlock()
		go func() {
			select {
			case <-f.connects:
				f.Client.DangerousInternals().DispatchEvent(&events.Connected{})
			case <-time.After(10 * time.Second):
			}
		}()
	}
	return func() *fakeWA {
		mu.Lock()
		defer mu.Unlock()
		return bare
	}
}

// TestRelinkSlowTheCoreCannotStoreIsDiscarded: a relink whose new device
// connects later than connect_timeout is handed to the core without a
// client. The core cannot store it, so it has no client to log out and
// only cancels the flow. The new device must not stay linked and stored
// with no login for it: it unlinks itself, and the earlier device stays
// the login's, no longer marked for removal. A LoadLogin of the discarded
// device, should the core still try, fails.
func TestRelinkSlowTheCoreCannotStoreIsDiscarded(t *testing.T) {
	env := newLoginEnv(t, "connect_timeout: 1s")
	old := linkedBefore(t, env)
	p, done := relinkUntilReconnect(t, env)
	res := waitResult(t, done)
	if res.err != nil || res.step.Type != network.StepComplete || res.step.Client != nil {
		t.Fatalf("Wait = %+v, %v", res.step, res.err)
	}
	bare := bareOn(env)

	// The core fails to store the login and ends the flow.
	p.Cancel()
	checkNewDeviceDiscarded(t, env, p, bare, old)
	env.host.mu.Lock()
	var savedJID string
	if n := len(env.host.saved); n > 0 {
		var meta loginMetadata
		_ = json.Unmarshal(env.host.saved[n-1].Metadata, &meta)
		savedJID = meta.JID
	}
	env.host.mu.Unlock()
	if savedJID != oldDev.String() {
		t.Errorf("the login was last stored with device %q, want the earlier %s (the core may have stored the new one)", savedJID, oldDev)
	}
	if _, err := env.conn.LoadLogin(context.Background(), res.step.Login); !errors.Is(err, errDiscardedLogin) {
		t.Errorf("LoadLogin of the discarded device = %v, want errDiscardedLogin", err)
	}
}

// TestRelinkSlowTheCoreTookIsNotDiscarded: the core stored and loaded the
// login handed over alone; a Cancel after that (the user's `cancel` as
// the core finished) discards nothing.
func TestRelinkSlowTheCoreTookIsNotDiscarded(t *testing.T) {
	env := newLoginEnv(t, "connect_timeout: 1s")
	linkedBefore(t, env)
	p, done := relinkUntilReconnect(t, env)
	res := waitResult(t, done)
	if res.err != nil || res.step.Client != nil {
		t.Fatalf("Wait = %+v, %v", res.step, res.err)
	}
	if _, err := env.conn.LoadLogin(context.Background(), res.step.Login); err != nil {
		t.Fatal(err)
	}
	p.Cancel()
	<-p.cleaned
	if d, err := env.conn.container.GetDevice(context.Background(), ownDev); err != nil || d == nil {
		t.Errorf("the new device the core took was removed (%v)", err)
	}
	if n := storedReplacedDevices(t, env.host.Database()); n != 1 {
		t.Errorf("%d devices kept to remove, want the earlier one", n)
	}
}

// checkNewDeviceDiscarded: once the flow p is cancelled, its clean-up
// ends with the new device unlinked (asked through a bare client) and
// gone from the store, and the earlier link kept, running and no longer
// marked for removal.
func checkNewDeviceDiscarded(t *testing.T, env *loginEnv, p *loginProcess, bare func() *fakeWA, old *Client) {
	t.Helper()
	select {
	case <-p.cleaned:
	case <-time.After(30 * time.Second):
		t.Fatal("the discarded login's clean-up did not end")
	}
	if d, err := env.conn.container.GetDevice(context.Background(), ownDev); err != nil || d != nil {
		t.Errorf("the new device the core never took is still stored (%v)", err)
	}
	if b := bare(); b == nil || b.logoutCount() != 1 {
		t.Error("the new device the core never took did not ask WhatsApp to unlink it")
	}
	checkOldDeviceKept(t, env, old)
	if n := storedReplacedDevices(t, env.host.Database()); n != 0 {
		t.Errorf("the earlier device is still kept to remove (%d rows)", n)
	}
	env.conn.lock.Lock()
	pending := env.conn.pendingUnlinks[ownLogin]
	env.conn.lock.Unlock()
	if pending != nil {
		t.Error("the earlier device still waits to be unlinked when the login's next client connects")
	}
}
