package whatsapp

import (
	"context"
	"testing"
	"time"

	"github.com/ferrybridge/ferry/database"
	"github.com/ferrybridge/ferry/internal/dbtest"
)

// TestStopLetsTheUnlinkOfACancelledLoginFinish: at shutdown the core
// ends its login flows, and a login the phone had paired is cancelled; its
// clean-up asks WhatsApp to unlink the new device, and the connector's
// Stop follows at once. WhatsApp answers a moment later: the device must
// be unlinked on the phone, not only deleted here, or the phone keeps a
// Ferry device that no login of Ferry's knows of. Stop waits for it, so
// the database is still open (on PostgreSQL too, whose driver heeds a
// cancelled context).
func TestStopLetsTheUnlinkOfACancelledLoginFinish(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *database.Database) {
		env := newLoginEnvOn(t, db.Database, "")
		p := env.start(t)
		f := env.fake(0)
		answer := make(chan struct{})
		f.mu.Lock()
		f.logoutWait, f.deleteOnLogout = answer, true
		f.mu.Unlock()
		pair(t, p)

		p.Cancel() // the core ending its flows at shutdown
		waitLogouts(t, f, 1)
		time.AfterFunc(200*time.Millisecond, func() { close(answer) }) // WhatsApp's answer
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		env.conn.Stop(ctx)
		select {
		case <-p.cleaned:
		default:
			t.Fatal("the clean-up of the cancelled login was still running after the connector's Stop")
		}
		if n := f.unlinkedCount(); n != 1 {
			t.Errorf("the cancelled login's device was unlinked on the phone %d times, want once: the stop cut the request", n)
		}
		if d, err := env.conn.container.GetDevice(context.Background(), ownDev); err != nil || d != nil {
			t.Errorf("the cancelled login's device is still stored after the stop (%v)", err)
		}
	})
}

// TestStopLetsTheUnlinkOfADiscardedSlowLinkFinish: the core could not
// store a relink handed over without a client and cancelled the flow as
// it stopped; the discard has the new device connect to unlink itself,
// and WhatsApp answers the unlink a moment after the connector's Stop
// began. The new device must be unlinked on the phone, not only deleted
// here.
func TestStopLetsTheUnlinkOfADiscardedSlowLinkFinish(t *testing.T) {
	env := newLoginEnv(t, "connect_timeout: 1s")
	linkedBefore(t, env)
	p, done := relinkUntilReconnect(t, env)
	if res := waitResult(t, done); res.err != nil || res.step.Client != nil {
		t.Fatalf("Wait = %+v, %v", res.step, res.err)
	}
	bare := bareOn(env)
	loggedIn := env.setup
	answer := make(chan struct{})
	env.setup = func(f *fakeWA) {
		f.logoutWait = answer
		loggedIn(f)
	}

	p.Cancel() // the core failed to store the login as Ferry stopped
	for deadline := time.Now().Add(10 * time.Second); bare() == nil || bare().logoutCount() == 0; time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the discard did not ask WhatsApp to unlink the new device")
		}
	}
	time.AfterFunc(200*time.Millisecond, func() { close(answer) }) // WhatsApp's answer
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	env.conn.Stop(ctx)
	select {
	case <-p.cleaned:
	default:
		t.Fatal("the discard of the new device was still running after the connector's Stop")
	}
	if n := bare().unlinkedCount(); n != 1 {
		t.Errorf("the discarded device was unlinked on the phone %d times, want once: the stop cut the request", n)
	}
	if d, err := env.conn.container.GetDevice(context.Background(), ownDev); err != nil || d != nil {
		t.Errorf("the discarded device is still stored after the stop (%v)", err)
	}
}
