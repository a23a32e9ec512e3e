package portals

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/ferrybridge/ferry/database"
	"github.com/ferrybridge/ferry/internal/dbtest"
	"github.com/ferrybridge/ferry/puppets"
)

// While a portal's backlog is held behind an event the homeserver could
// not take, an event a network hands over and waits for (WhatsApp
// acknowledges a message only once it is bridged, holding its connection's
// events meanwhile) is stored behind the backlog. It is safe there, as
// the kept event is, so its network hears so at once instead of waiting
// out the whole outage.
func TestEventWaitedForBehindAStallIsSafeAtOnce(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *database.Database) {
		setForTest(t, &ResumeAfterOutage, time.Hour) // the outage lasts
		ctx, p, _, login := memberScene(t, db)
		// The homeserver could not take the stored event "kept".
		kept := textFrom(p, "bob", "kept")
		row := storeQueued(t, ctx, db, p, login.ID, kept)
		if !p.keepUntilReachable(ctx, &queueItem{remote: kept, login: login, seq: row.Seq}, puppets.ErrUnreachable) {
			t.Fatal("the event the homeserver could not take was not kept")
		}
		stopResumeTimerAtEnd(t, p)

		result, err := p.m.QueueRemote(ctx, login, textFrom(p, "bob", "next"))
		if err != nil {
			t.Fatal(err)
		}
		select {
		case err := <-result.Outcome():
			if err != nil {
				t.Errorf("the network heard %v, want that its event is safe", err)
			}
		case <-time.After(10 * time.Second):
			t.Fatal("the network still waits for an event stored behind the stall")
		}
		rows, err := db.RemoteEvents.Pending(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if len(rows) != 2 {
			t.Fatalf("%d events stored, want the kept one and the one behind it", len(rows))
		}
		if n := p.durable.pending.Load(); n != 2 {
			t.Errorf("%d events counted as waiting, want 2", n)
		}

		// Past the portal's bound, the network is held back instead, and
		// the event is not stored: the store must not grow without bound
		// in an outage (durable_bound_test.go).
		setForTest(t, &MaxPendingPerPortal, 2)
		short, cancel := context.WithTimeout(ctx, 300*time.Millisecond)
		defer cancel()
		if _, err = p.m.QueueRemote(short, login, textFrom(p, "bob", "past the bound")); !errors.Is(err, ErrQueueFull) {
			t.Errorf("the network heard %v of an event past the portal's bound; want it held back, then ErrQueueFull", err)
		}
		if rows, err = db.RemoteEvents.Pending(ctx); err != nil || len(rows) != 2 {
			t.Errorf("%d events stored (%v), want the event past the bound left to its network", len(rows), err)
		}
	})
}
