package portals

import (
	"testing"
	"time"

	"github.com/ferrybridge/ferry/database"
	"github.com/ferrybridge/ferry/internal/dbtest"
	"github.com/ferrybridge/ferry/puppets"
)

// An event a network waits for, stored behind a backlog (durable_waiting
// .go), hears its outcome when the drain reaches it. When an event
// before it is then kept because the homeserver cannot be reached, the
// drain stops until the homeserver is back, and the network waited for
// the whole outage (WhatsApp holding its connection's events, giving up
// after three minutes and getting the event again), although its event
// was as safe in the store as one handed over after the stall began,
// which hears so at once (15eac0b). It now hears so when the stall
// begins.
func TestEventWaitedForHearsItIsSafeWhenAStallBegins(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *database.Database) {
		setForTest(t, &ResumeAfterOutage, time.Hour)
		ctx, p, _, login := memberScene(t, db)
		stopResumeTimerAtEnd(t, p)
		// The event the drain is on when the homeserver goes away.
		first := textFrom(p, "bob", "first")
		row := storeQueued(t, ctx, db, p, login.ID, first)
		// A backlog this test drains by hand: held, as before a replay.
		p.durable.lock.Lock()
		p.durable.backlog.Store(true)
		p.durable.held.Store(true)
		p.durable.lock.Unlock()

		result, err := p.m.QueueRemote(ctx, login, textFrom(p, "bob", "waited for"))
		if err != nil || result == nil {
			t.Fatalf("%v, %v; want the event stored behind the backlog", result, err)
		}
		select {
		case err := <-result.Outcome():
			t.Fatalf("the network heard %v before the drain reached its event", err)
		default:
		}

		if !p.keepUntilReachable(ctx, &queueItem{remote: first, login: login, seq: row.Seq}, puppets.ErrUnreachable) {
			t.Fatal("the event the homeserver could not take was not kept")
		}
		select {
		case err := <-result.Outcome():
			if err != nil {
				t.Errorf("the network heard %v, want that its event is safe", err)
			}
		case <-time.After(5 * time.Second):
			t.Fatal("the network still waits for an event stored behind a stall")
		}
		if rows, err := db.RemoteEvents.Pending(ctx); err != nil || len(rows) != 2 {
			t.Errorf("%d events stored (%v), want the kept one and the one behind it", len(rows), err)
		}
	})
}
