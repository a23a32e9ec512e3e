package whatsapp

import (
	"context"
	"testing"
	"time"

	"github.com/ferrybridge/ferry/bridge/network"
)

// TestLogoutWhileARelinkStartsUnlinksBothDevices: the core has stored
// and started a relinked login (it disconnected the earlier client, whose
// unlink waits out relinkGrace), and the user sends `logout whatsapp`
// in that window: the core logs the login's client, the new one, out.
// That Logout was taken for the core's discard of a relink it could not
// start, so the earlier client came back as the login's running client,
// its device linked and stored, with no login in the core to stop or
// log it out. The logout must win: both devices unlinked, neither
// stored, no client of the account running, the login's data gone.
func TestLogoutWhileARelinkStartsUnlinksBothDevices(t *testing.T) {
	env := newLoginEnv(t, "")
	env.setup = func(f *fakeWA) { f.deleteOnLogout = true }
	ctx := context.Background()
	old, res := relinkConnectedWithAKey(t, env)
	old.Disconnect() // the core started the new login in its place

	if err := res.step.Client.(network.Logouter).Logout(ctx); err != nil {
		t.Fatalf("Logout: %v", err)
	}
	if c := env.conn.client(ownLogin); c != nil {
		t.Errorf("a client of the logged-out account is running (the earlier link's: %t)", c == old)
	}
	if n := env.fake(2).logoutCount(); n != 1 {
		t.Errorf("the new device was unlinked %d times, want once", n)
	}
	waitLogouts(t, env.fake(0), 1)
	if d, err := env.conn.container.GetDevice(ctx, oldDev); err != nil || d != nil {
		t.Errorf("the earlier device is still stored after the logout: %v", err)
	}
	if d, err := env.conn.container.GetDevice(ctx, ownDev); err != nil || d != nil {
		t.Errorf("the new device is still stored after the logout: %v", err)
	}
	if k, err := env.conn.msgs.get(ctx, ownLogin, dmPortal(bobPN).Chat, "M1"); err != nil || k != nil {
		t.Errorf("the login's message keys outlived its logout: %+v, %v", k, err)
	}
	// The earlier client's wait for a reconnect ends without bringing
	// anything back or unlinking twice.
	time.Sleep(relinkGrace + 200*time.Millisecond)
	if c := env.conn.client(ownLogin); c != nil {
		t.Errorf("a client of the logged-out account runs after the grace (the earlier link's: %t)", c == old)
	}
	if n := env.fake(0).logoutCount(); n != 1 {
		t.Errorf("the earlier device was unlinked %d times, want once", n)
	}
	if n := storedReplacedDevices(t, env.host.Database()); n != 0 {
		t.Errorf("%d replaced devices still kept to remove after the logout", n)
	}
}
