package whatsapp

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"go.mau.fi/util/dbutil"
	"go.mau.fi/whatsmeow"
	"go.mau.fi/whatsmeow/types"
	"go.mau.fi/whatsmeow/types/events"

	"github.com/ferrybridge/ferry/bridge/network"
	"github.com/ferrybridge/ferry/database"
	"github.com/ferrybridge/ferry/internal/dbtest"
)

// slowRelinkStartedThenStopped links the account again with a new device
// slower than connect_timeout: the core gets the login without a client,
// stores it, starts a client of its own (disconnecting the earlier one),
// and Ferry stops before that client connects. It returns the login as
// the core stored it.
func slowRelinkStartedThenStopped(t *testing.T, db *dbutil.Database) *network.Login {
	t.Helper()
	ctx := context.Background()
	env := newLoginEnvOn(t, db, "connect_timeout: 1s")
	old := linkedBefore(t, env)
	env.fake(0).logoutErr = whatsmeow.ErrNotConnected
	_, done := relinkUntilReconnect(t, env)
	res := waitResult(t, done)
	if res.err != nil || res.step.Type != network.StepComplete || res.step.Client != nil {
		t.Fatalf("Wait = %+v, %v", res.step, res.err)
	}
	loaded, err := env.conn.LoadLogin(ctx, res.step.Login)
	if err != nil {
		t.Fatal(err)
	}
	old.Disconnect()
	loaded.Connect(ctx)
	env.conn.Stop(ctx)
	return res.step.Login
}

// restartAndConnect starts Ferry again on db, loads login and has its
// client connect to WhatsApp. setup (if not nil) prepares every client
// made after the restart.
func restartAndConnect(t *testing.T, db *dbutil.Database, login *network.Login, setup func(*fakeWA)) *loginEnv {
	t.Helper()
	env := newLoginEnvOn(t, db, "")
	env.setup = setup
	loaded, err := env.conn.LoadLogin(context.Background(), login)
	if err != nil {
		t.Fatal(err)
	}
	cl := loaded.(*Client)
	cl.Connect(context.Background())
	cl.cli.DangerousInternals().DispatchEvent(&events.Connected{})
	return env
}

func waitDeviceGone(t *testing.T, conn *Connector, jid types.JID) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		d, err := conn.container.GetDevice(context.Background(), jid)
		if err != nil {
			t.Fatal(err)
		}
		if d == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("device %s is still stored", jid)
		}
	}
}

func waitNotice(t *testing.T, h *fakeHost, part string) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		h.mu.Lock()
		notices := strings.Join(h.notices, "\n")
		h.mu.Unlock()
		if strings.Contains(notices, part) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("no notice with %q; notices: %q", part, notices)
		}
	}
}

func storedReplacedDevices(t *testing.T, db *dbutil.Database) int {
	t.Helper()
	var n int
	if err := db.QueryRow(context.Background(), `SELECT COUNT(*) FROM whatsapp_replaced_device`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// TestRelinkSlowToConnectUnlinksTheOldDeviceAfterARestart: Ferry stops
// after the core stored a slow relink's login but before its device
// connected. The earlier device must still go when the new one connects
// after the restart. Here WhatsApp cannot be reached by the old device
// (relink_offline.go): it is deleted here, and the user told to remove it
// on the phone.
func TestRelinkSlowToConnectUnlinksTheOldDeviceAfterARestart(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *database.Database) {
		login := slowRelinkStartedThenStopped(t, db.Database)
		env := restartAndConnect(t, db.Database, login, func(f *fakeWA) {
			if f.Client.Store.ID != nil && *f.Client.Store.ID == oldDev {
				f.connectErr = errors.New("unreachable")
			}
		})
		waitDeviceGone(t, env.conn, oldDev)
		waitNotice(t, env.host, "remove the older Ferry device")
		if d, err := env.conn.container.GetDevice(context.Background(), ownDev); err != nil || d == nil {
			t.Errorf("the new device is gone: %v", err)
		}
		if n := storedReplacedDevices(t, db.Database); n != 0 {
			t.Errorf("%d devices still wait to be unlinked", n)
		}
	})
}

// TestRelinkNeverStoredKeepsTheOldDeviceAfterARestart: Ferry stops after
// a slow relink completed but before the core stored its login, which
// therefore still runs on the earlier device after the restart. That
// device is the login's and must stay.
func TestRelinkNeverStoredKeepsTheOldDeviceAfterARestart(t *testing.T) {
	db := sqliteDB(t)
	env := newLoginEnvOn(t, db, "connect_timeout: 1s")
	old := linkedBefore(t, env)
	_, done := relinkUntilReconnect(t, env)
	if res := waitResult(t, done); res.err != nil || res.step.Client != nil {
		t.Fatalf("Wait = %+v, %v", res.step, res.err)
	}
	env.conn.Stop(context.Background())

	restarted := restartAndConnect(t, db, testLogin(old.device), nil)
	time.Sleep(100 * time.Millisecond)
	if d, err := restarted.conn.container.GetDevice(context.Background(), oldDev); err != nil || d == nil {
		t.Errorf("the device the login runs on was removed: %v", err)
	}
	if n := restarted.fake(0).logoutCount(); n != 0 {
		t.Errorf("the login's device was unlinked (%d logouts)", n)
	}
	restarted.host.mu.Lock()
	defer restarted.host.mu.Unlock()
	if len(restarted.host.notices) != 0 {
		t.Errorf("notices: %q", restarted.host.notices)
	}
}

// TestLogoutRemovesTheDeviceARelinkLeftToUnlink: the user logs out after
// the restart, before the new device connected. The earlier device goes
// with the login (deleted here, the user told to remove it on the phone),
// and nothing of it is left to do at a later start.
func TestLogoutRemovesTheDeviceARelinkLeftToUnlink(t *testing.T) {
	db := sqliteDB(t)
	login := slowRelinkStartedThenStopped(t, db)
	env := newLoginEnvOn(t, db, "")
	// WhatsApp cannot be reached, by the old device either.
	env.setup = func(f *fakeWA) { f.connectErr = errors.New("unreachable") }
	loaded, err := env.conn.LoadLogin(context.Background(), login)
	if err != nil {
		t.Fatal(err)
	}
	if err := loaded.(network.Logouter).Logout(context.Background()); err != nil {
		t.Fatalf("Logout: %v", err)
	}
	waitDeviceGone(t, env.conn, oldDev)
	waitNotice(t, env.host, "remove the older Ferry device")
	if n := storedReplacedDevices(t, db); n != 0 {
		t.Errorf("%d devices still wait to be unlinked after the logout", n)
	}
}

// TestRelinkSlowToConnectUnlinksTheOldDeviceOverItsOwnConnectionAfterARestart:
// as TestRelinkSlowToConnectUnlinksTheOldDeviceAfterARestart, but the old
// device reaches WhatsApp: it connects once more and unlinks itself, and
// the user has nothing to remove on the phone.
func TestRelinkSlowToConnectUnlinksTheOldDeviceOverItsOwnConnectionAfterARestart(t *testing.T) {
	db := sqliteDB(t)
	login := slowRelinkStartedThenStopped(t, db)
	var bare *fakeWA
	var mu sync.Mutex
	env := restartAndConnect(t, db, login, func(f *fakeWA) {
		f.deleteOnLogout = true
		if f.Client.Store.ID != nil && *f.Client.Store.ID == oldDev {
			mu.Lock()
			bare = f
			mu.Unlock()
			// WhatsApp logs the device in once it connects.
			go func() {
				<-f.connects
				f.Client.DangerousInternals().DispatchEvent(&events.Connected{})
			}()
		}
	})
	waitDeviceGone(t, env.conn, oldDev)
	mu.Lock()
	defer mu.Unlock()
	if bare == nil || bare.logoutCount() != 1 {
		t.Fatal("the old device did not ask WhatsApp to unlink it")
	}
	env.host.mu.Lock()
	defer env.host.mu.Unlock()
	if len(env.host.notices) != 0 {
		t.Errorf("notices after an unlink that worked: %q", env.host.notices)
	}
	// The device is forgotten after whatsmeow deleted it, with no notice
	// to wait for in between.
	waitReplacedForgotten(t, db)
}

// waitReplacedForgotten waits until no device waits to be unlinked.
func waitReplacedForgotten(t *testing.T, db *dbutil.Database) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		n := storedReplacedDevices(t, db)
		if n == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d devices still wait to be unlinked", n)
		}
	}
}
