package whatsapp

import (
	"context"
	"strings"
	"testing"
	"time"

	"go.mau.fi/whatsmeow"
	"go.mau.fi/whatsmeow/types/events"

	"github.com/ferrybridge/ferry/bridge/network"
)

// slowRelinkStarted relinks the account with a new device slower than
// connect_timeout and has the core start the login as it does: it
// disconnects the old client and connects one of its own, the client
// returned. The old device's client is env.fake(0), whose Logout fails
// as whatsmeow's does once disconnected; the core's client is
// env.fake(3).
func slowRelinkStarted(t *testing.T, env *loginEnv) (old, cl *Client) {
	t.Helper()
	old = linkedBefore(t, env)
	env.fake(0).logoutErr = whatsmeow.ErrNotConnected
	_, done := relinkUntilReconnect(t, env)
	res := waitResult(t, done)
	if res.err != nil || res.step.Type != network.StepComplete || res.step.Client != nil {
		t.Fatalf("Wait = %+v, %v", res.step, res.err)
	}
	loaded, err := env.conn.LoadLogin(context.Background(), res.step.Login)
	if err != nil {
		t.Fatal(err)
	}
	old.Disconnect()
	cl = loaded.(*Client)
	cl.Connect(context.Background())
	return old, cl
}

// TestRelinkSlowToConnectUnlinksTheOldDeviceOverItsOwnConnection: in
// the slow relink the old client is disconnected by the time the new one
// connects, and only a connected device can ask WhatsApp to unlink it.
// The old device then connects once more, with a client of its own, and
// unlinks itself: it is gone from the account, not only from Ferry, and
// the user has nothing to remove on the phone.
func TestRelinkSlowToConnectUnlinksTheOldDeviceOverItsOwnConnection(t *testing.T) {
	env := newLoginEnv(t, "connect_timeout: 1s")
	_, cl := slowRelinkStarted(t, env)
	env.setup = func(f *fakeWA) { f.deleteOnLogout = true }
	cl.cli.DangerousInternals().DispatchEvent(&events.Connected{})

	bare := env.waitFake(t, 4)
	waitConnect(t, bare)
	if bare.Client.Store.ID == nil || *bare.Client.Store.ID != oldDev {
		t.Fatalf("the unlinking client runs on device %v, want the old %s", bare.Client.Store.ID, oldDev)
	}
	if n := bare.logoutCount(); n != 0 {
		t.Fatalf("the unlink was asked for before the device was logged in (%d logouts)", n)
	}
	bare.Client.DangerousInternals().DispatchEvent(&events.Connected{})
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		d, err := env.conn.container.GetDevice(context.Background(), oldDev)
		if err != nil {
			t.Fatal(err)
		}
		if d == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the earlier device was never removed after the new one connected")
		}
	}
	if n := bare.logoutCount(); n != 1 {
		t.Errorf("the old device asked WhatsApp to unlink it %d times, want once", n)
	}
	if n := bare.disconnectCount(); n == 0 {
		t.Error("the unlinking client was left connected")
	}
	time.Sleep(100 * time.Millisecond) // a notice would go right after the removal
	env.host.mu.Lock()
	notices := strings.Join(env.host.notices, "\n")
	env.host.mu.Unlock()
	if strings.Contains(notices, "Linked devices") {
		t.Errorf("the user was told to remove a device that was unlinked: %q", notices)
	}
	if n := storedReplacedDevices(t, env.host.Database()); n != 0 {
		t.Errorf("%d replaced devices still kept to remove", n)
	}
	if d, err := env.conn.container.GetDevice(context.Background(), ownDev); err != nil || d == nil {
		t.Errorf("the new device is gone: %v", err)
	}
}
