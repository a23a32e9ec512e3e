package whatsapp

import (
	"context"
	"testing"
	"time"

	"go.mau.fi/whatsmeow/types/events"

	"github.com/ferrybridge/ferry/bridge/network"
)

// TestReconnectBeforeTheCoreStartsARelinkKeepsTheOldDevice: the relinked
// login is handed to the core, which has yet to store and start it, when
// the user sends `reconnect`: the core disconnects and connects the
// login's running client, still the earlier link's. That Disconnect is
// not the core starting the new link: the earlier device must stay
// linked (the core may still fail to store the new login and discard
// it), and go only once the core has started the new login.
func TestReconnectBeforeTheCoreStartsARelinkKeepsTheOldDevice(t *testing.T) {
	env := newLoginEnv(t, "")
	old := linkedBefore(t, env)
	p, done := relinkUntilReconnect(t, env)
	p.cli.DangerousInternals().DispatchEvent(&events.Connected{})
	res := waitResult(t, done)
	if res.err != nil || res.step.Type != network.StepComplete || res.step.Client == nil {
		t.Fatalf("Wait = %+v, %v", res.step, res.err)
	}

	// `reconnect whatsapp`, as the core runs it.
	old.Disconnect()
	old.Connect(context.Background())
	time.Sleep(relinkGrace + 200*time.Millisecond)
	if n := env.fake(0).logoutCount(); n != 0 {
		t.Fatalf("the earlier device was unlinked at a reconnect before the core started the new login (%d logouts)", n)
	}
	if d, err := env.conn.container.GetDevice(context.Background(), oldDev); err != nil || d == nil {
		t.Fatalf("the earlier device is no longer stored: %v", err)
	}
	if old.quiet.Load() {
		t.Error("the earlier link no longer reports the login's states after the reconnect")
	}

	old.Disconnect() // the core, having stored and started the new login
	waitLogouts(t, env.fake(0), 1)
	if env.conn.client(ownLogin) != res.step.Client {
		t.Error("the new link is not the login's running client")
	}
}

// TestStopBeforeTheUnlinkOfAReplacedDeviceKeepsItForTheNextStart: Ferry
// stops in the moment between the core starting a relinked login and the
// earlier device's unlink. That device is closed with the stop and kept
// for the login's next run to remove.
func TestStopBeforeTheUnlinkOfAReplacedDeviceKeepsItForTheNextStart(t *testing.T) {
	db := sqliteDB(t)
	env := newLoginEnvOn(t, db, "")
	old := linkedBefore(t, env)
	p, done := relinkUntilReconnect(t, env)
	p.cli.DangerousInternals().DispatchEvent(&events.Connected{})
	if res := waitResult(t, done); res.err != nil || res.step.Client == nil {
		t.Fatalf("Wait = %+v, %v", res.step, res.err)
	}

	old.Disconnect() // the core started the new login
	env.conn.Stop(context.Background())
	if n := env.fake(0).disconnectCount(); n == 0 {
		t.Error("the earlier device's connection was left open at the stop")
	}
	if n := storedReplacedDevices(t, db); n != 1 {
		t.Errorf("%d replaced devices kept for the next start, want 1", n)
	}
}
