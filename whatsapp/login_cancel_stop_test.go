package whatsapp

import (
	"context"
	"testing"
	"time"

	"github.com/ferrybridge/ferry/database"
	"github.com/ferrybridge/ferry/internal/dbtest"
)

// TestStopWaitsForTheCleanUpOfACancelledLogin: a login is cancelled once
// the phone has paired it, so its clean-up asks WhatsApp to unlink the
// new device, and WhatsApp does not answer. The connector is stopped
// meanwhile: Stop must end the clean-up and wait for it, as the core
// closes the database after Stop, and the half-made device is still
// deleted here (on PostgreSQL too, whose driver heeds a cancelled
// context).
func TestStopWaitsForTheCleanUpOfACancelledLogin(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *database.Database) {
		stopDuringTheCleanUpOfACancelledLogin(t, newLoginEnvOn(t, db.Database, ""))
	})
}

func stopDuringTheCleanUpOfACancelledLogin(t *testing.T, env *loginEnv) {
	saved := stopGrace
	t.Cleanup(func() { stopGrace = saved })
	stopGrace = 500 * time.Millisecond
	p := env.start(t)
	f := env.fake(0)
	unanswered := make(chan struct{})
	t.Cleanup(func() { close(unanswered) })
	f.mu.Lock()
	f.logoutWait = unanswered
	f.mu.Unlock()
	pair(t, p)

	p.Cancel() // the user's `cancel`, or the core ending its flows
	waitLogouts(t, f, 1)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	env.conn.Stop(ctx)
	if ctx.Err() != nil {
		t.Fatal("the connector's Stop waited for the clean-up until its deadline instead of ending it")
	}
	select {
	case <-p.cleaned:
	default:
		t.Fatal("the clean-up of the cancelled login was still running after the connector's Stop")
	}
	if d, err := env.conn.container.GetDevice(context.Background(), ownDev); err != nil || d != nil {
		t.Errorf("the cancelled login's device is still stored after the stop (%v)", err)
	}
}
