package whatsapp

import (
	"context"
	"testing"
	"time"

	"github.com/ferrybridge/ferry/bridge/network"
)

// TestRelinkDiscardedDuringAReconnectKeepsTheOldDevice: the core discards
// a relink it could not store (a `cancel`, a database failure) in the
// moment the user's `reconnect` has disconnected the login's running
// client, still the earlier link's, and not yet connected it again. That
// Disconnect was the reconnect's, not the core starting the new link in
// its place, and only its Connect can tell: the Logout of the new client
// is still the discard, which unlinks the new device alone. Taken for the
// user's logout, it unlinked the earlier device too and deleted the
// login's data, while the core runs the login on with that client.
func TestRelinkDiscardedDuringAReconnectKeepsTheOldDevice(t *testing.T) {
	env := newLoginEnv(t, "")
	ctx := context.Background()
	old, res := relinkConnectedWithAKey(t, env)

	// `reconnect whatsapp`, with the core's discard between its
	// Disconnect and its Connect.
	old.Disconnect()
	connected := make(chan struct{})
	go func() {
		defer close(connected)
		time.Sleep(100 * time.Millisecond)
		old.Connect(ctx)
	}()
	if err := res.step.Client.(network.Logouter).Logout(ctx); err != nil {
		t.Fatalf("Logout: %v", err)
	}
	<-connected

	checkOldDeviceKept(t, env, old)
	if n := env.fake(2).logoutCount(); n != 1 {
		t.Errorf("the discarded new device was unlinked %d times, want once", n)
	}
	if k, err := env.conn.msgs.get(ctx, ownLogin, dmPortal(bobPN).Chat, "M1"); err != nil || k == nil {
		t.Errorf("the login's message keys went with the discarded link: %+v, %v", k, err)
	}
	if old.quiet.Load() {
		t.Error("the earlier link no longer reports the login's states")
	}
	time.Sleep(relinkGrace + 200*time.Millisecond)
	if n := env.fake(0).logoutCount(); n != 0 {
		t.Errorf("the earlier device was unlinked after the grace (%d logouts)", n)
	}
}
