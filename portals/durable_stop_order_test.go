package portals

import (
	"testing"
	"time"

	"github.com/ferrybridge/ferry/bridge/network"
	"github.com/ferrybridge/ferry/database"
	"github.com/ferrybridge/ferry/internal/dbtest"
)

// storedMessageIDs are the IDs of the messages in the durable queue, in
// the order the next start bridges them.
func storedMessageIDs(t *testing.T, db *database.Database) []network.MessageID {
	t.Helper()
	rows, err := db.RemoteEvents.Pending(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	var ids []network.MessageID
	for _, row := range rows {
		stored, err := network.UnmarshalEvent(row.Payload)
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, stored.(*network.Message).ID)
	}
	return ids
}

// Events a network waits for (QueueRemote) wait in the portal's queue
// unstored, and the stop stores them (keepQueued); events handed over
// through the durable path while the portal is busy are stored as they
// arrive. Stored last, an event that came first was bridged after the
// restart behind those that came after it: WhatsApp's message behind the
// membership change or chat info that followed it. The stop must store
// them in the order they reached the portal.
func TestEventsLeftQueuedAtStopKeepTheirOrder(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *database.Database) {
		setForTest(t, &StoreBehind, time.Hour) // no timer stores the event handed over unstored
		ctx, p, _, login := memberScene(t, db)
		m := p.m
		// No goroutine starts from now on: everything stays queued, as
		// behind a slow event when the stop comes.
		m.lock.Lock()
		m.stopped = true
		m.lock.Unlock()

		durable := func(id network.MessageID) {
			t.Helper()
			if err := m.QueueDurable(ctx, login, textFrom(p, "bob", id)); err != nil {
				t.Fatal(err)
			}
		}
		inMemory := func(id network.MessageID) *RemoteWait {
			t.Helper()
			wait, err := m.QueueRemote(ctx, login, textFrom(p, "bob", id))
			if err != nil {
				t.Fatal(err)
			}
			return wait
		}
		durable("1 handed over unstored")
		w2 := inMemory("2 in memory")
		durable("3 stored")
		w4 := inMemory("4 in memory")
		if _, came := w4.Leave(); came {
			t.Fatal("the scene needs the event still queued")
		}
		durable("5 stored")

		m.Stop()
		want := []network.MessageID{"1 handed over unstored", "2 in memory", "3 stored", "4 in memory", "5 stored"}
		got := storedMessageIDs(t, db)
		if len(got) != len(want) {
			t.Fatalf("stored after the stop: %q; want %q", got, want)
		}
		for i := range want {
			if got[i] != want[i] {
				t.Fatalf("stored after the stop: %q; want %q, the order they came in", got, want)
			}
		}
		select {
		case err := <-w2.Outcome():
			if err != nil {
				t.Errorf("the waiting network heard %v; want nil, the event kept", err)
			}
		default:
			t.Error("the waiting network heard nothing at the stop")
		}
	})
}
