package whatsapp

import (
	"context"
	"testing"
)

// TestStopDuringTheUnlinkOfAReplacedDeviceKeepsIt: the core started a
// relinked login and disconnected the earlier client, whose unlink is
// under way (WhatsApp slow to answer) when Ferry stops. The stop ends the
// request; the earlier device must then stay stored and listed for the
// login's next run to remove, as one whose unlink a stop came before. It
// was deleted here instead: the phone kept it among its linked devices,
// and the notice telling the user to remove it went out on the stopped
// context, so nothing told of it.
func TestStopDuringTheUnlinkOfAReplacedDeviceKeepsIt(t *testing.T) {
	db := sqliteDB(t)
	env := newLoginEnvOn(t, db, "")
	old := linkedBefore(t, env)
	relinkHandedOver(t, env)
	stopDuringTheUnlink(t, env, old)
	if d, err := env.conn.container.GetDevice(context.Background(), oldDev); err != nil || d == nil {
		t.Errorf("the earlier device, its unlink cut short by the stop, was deleted here (%v): the phone keeps it with nothing to tell of it", err)
	}
	if n := storedReplacedDevices(t, db); n != 1 {
		t.Errorf("%d devices kept for the next run to remove; want the earlier one", n)
	}
}
