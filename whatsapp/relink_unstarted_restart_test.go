package whatsapp

import (
	"context"
	"errors"
	"testing"
	"time"
)

// TestRelinkStoredNotStartedUnlinksTheOldDeviceAfterARestart: the new
// device of a relink connected in time and was handed to the core with
// its client; the core stored the login, and Ferry stopped (or crashed)
// before the core started it and disconnected the earlier client, whose
// disconnect unlinks the earlier device. After the restart the login runs
// on the new device: the earlier one must still go when it connects, not
// stay linked on the phone with nothing of Ferry's to remove it. Here the
// old device cannot reach WhatsApp: it is deleted here and the user told.
func TestRelinkStoredNotStartedUnlinksTheOldDeviceAfterARestart(t *testing.T) {
	db := sqliteDB(t)
	env := newLoginEnvOn(t, db, "")
	linkedBefore(t, env)
	res := relinkHandedOver(t, env)
	env.conn.Stop(context.Background()) // the core stored res.step.Login, and started nothing

	restarted := restartAndConnect(t, db, res.step.Login, func(f *fakeWA) {
		if f.Client.Store.ID != nil && *f.Client.Store.ID == oldDev {
			f.connectErr = errors.New("unreachable")
		}
	})
	waitDeviceGone(t, restarted.conn, oldDev)
	waitNotice(t, restarted.host, "remove the older Ferry device")
	if n := storedReplacedDevices(t, db); n != 0 {
		t.Errorf("%d devices still wait to be unlinked", n)
	}
}

// TestRelinkConnectedNeverStoredKeepsTheOldDeviceAfterARestart: as above,
// but Ferry stopped before the core stored the new login, which therefore
// still runs on the earlier device after the restart. That device is the
// login's and must stay.
func TestRelinkConnectedNeverStoredKeepsTheOldDeviceAfterARestart(t *testing.T) {
	db := sqliteDB(t)
	env := newLoginEnvOn(t, db, "")
	old := linkedBefore(t, env)
	relinkHandedOver(t, env)
	env.conn.Stop(context.Background())

	restarted := restartAndConnect(t, db, testLogin(old.device), nil)
	time.Sleep(100 * time.Millisecond)
	if d, err := restarted.conn.container.GetDevice(context.Background(), oldDev); err != nil || d == nil {
		t.Errorf("the device the login runs on was removed: %v", err)
	}
	if n := restarted.fake(0).logoutCount(); n != 0 {
		t.Errorf("the login's device was unlinked (%d logouts)", n)
	}
	if n := storedReplacedDevices(t, db); n != 0 {
		t.Errorf("%d devices still wait to be unlinked; the login's own must be forgotten", n)
	}
}
