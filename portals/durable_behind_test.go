package portals

import (
	"math"
	"testing"
	"time"

	"maunium.net/go/mautrix/event"

	"github.com/ferrybridge/ferry/bridge/network"
	"github.com/ferrybridge/ferry/database"
	"github.com/ferrybridge/ferry/internal/dbtest"
)

// An event handed to its portal unstored is encoded only when it is
// stored. One that cannot be encoded (a network put a value JSON has no
// form for into it) must not keep the events after it from being stored,
// and stays counted as on its way until its portal settles it.
func TestUnencodableEventDoesNotHoldBackTheStore(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *database.Database) {
		ctx, p, _, login := memberScene(t, db)
		message := func(id network.MessageID, extra map[string]any) *behindEvent {
			evt := &network.Message{
				Meta:  network.Meta{Portal: p.Key, Sender: network.Sender{User: "bob"}, Timestamp: time.Now()},
				ID:    id,
				Parts: []network.Part{{Content: &event.MessageEventContent{MsgType: event.MsgText, Body: string(id)}, Extra: extra}},
			}
			row := &database.RemoteEvent{Portal: p.Key, Login: login.ID, ReceivedAt: time.Now()}
			return &behindEvent{evt: evt, row: row, listed: true}
		}
		bad := message("bad", map[string]any{"weight": math.Inf(1)})
		good := message("good", nil)

		p.durable.lock.Lock()
		p.durable.behind = []*behindEvent{bad, good}
		p.storeBehindLocked(ctx, nil)
		left := len(p.durable.behind)
		p.durable.lock.Unlock()

		if left != 0 {
			t.Errorf("%d events are still waiting to be stored", left)
		}
		rows, err := db.RemoteEvents.Pending(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if len(rows) != 1 || good.seq.Load() == 0 || rows[0].Seq != good.seq.Load() {
			t.Fatalf("stored %d events (the good one as %d), want only the good one", len(rows), good.seq.Load())
		}
		if stored, err := network.UnmarshalEvent(rows[0].Payload); err != nil || stored.(*network.Message).ID != "good" {
			t.Errorf("the stored payload decodes to %v (%v)", stored, err)
		}
		if bad.seq.Load() != 0 || !bad.listed {
			t.Errorf("the unencodable event: seq %d, listed %v; want unstored and still on its way", bad.seq.Load(), bad.listed)
		}
	})
}

// An event handed to an idle portal whose goroutine had ended is taken by
// a new goroutine, unless the bridge is stopping: then none starts, and
// the event waits in the queue, unstored. The stop must store it, so that
// the next start bridges it. The test takes the stop's first step (no new
// goroutines) before the event arrives, which is the window this guards.
func TestEventHandedAsTheBridgeStopsIsStored(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *database.Database) {
		old := StoreBehind
		StoreBehind = time.Hour // its own timer must not be what stores it
		t.Cleanup(func() { StoreBehind = old })
		ctx, p, _, login := memberScene(t, db)
		m := p.m

		m.lock.Lock()
		m.stopped = true
		m.lock.Unlock()
		evt := &network.Message{
			Meta:  network.Meta{Portal: p.Key, Sender: network.Sender{User: "bob"}, Timestamp: time.Now()},
			ID:    "late",
			Parts: []network.Part{{Content: &event.MessageEventContent{MsgType: event.MsgText, Body: "late"}}},
		}
		if err := m.QueueDurable(ctx, login, evt); err != nil {
			t.Fatal(err)
		}
		p.durable.lock.Lock()
		handedBehind := len(p.durable.behind) == 1
		p.durable.lock.Unlock()
		p.runLock.Lock()
		running := p.running
		p.runLock.Unlock()
		if !handedBehind || running {
			t.Fatalf("handed over unstored: %v, goroutine running: %v; the scene needs an unstored event and no goroutine", handedBehind, running)
		}

		m.Stop()
		rows, err := db.RemoteEvents.Pending(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if len(rows) != 1 {
			t.Fatalf("%d events stored after the stop, want the one handed over", len(rows))
		}
		if stored, err := network.UnmarshalEvent(rows[0].Payload); err != nil || stored.(*network.Message).ID != "late" {
			t.Errorf("the stored payload decodes to %v (%v)", stored, err)
		}
	})
}

// An event stored behind (its timer fired while it was on its way) is
// then finished as every stored event is: counted out once, and its row
// deleted. Counting it out twice would let the portal take more than
// MaxPendingPerPortal events in an outage.
func TestEventStoredBehindIsCountedOutOnce(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *database.Database) {
		ctx, p, _, login := memberScene(t, db)
		evt := &network.Message{
			Meta:  network.Meta{Portal: p.Key, Sender: network.Sender{User: "bob"}, Timestamp: time.Now()},
			ID:    "slow",
			Parts: []network.Part{{Content: &event.MessageEventContent{MsgType: event.MsgText, Body: "slow"}}},
		}
		row := &database.RemoteEvent{Portal: p.Key, Login: login.ID, ReceivedAt: time.Now()}
		be := &behindEvent{evt: evt, row: row, listed: true, timer: time.AfterFunc(time.Hour, func() {})}
		p.durable.lock.Lock()
		p.durable.behind = []*behindEvent{be}
		p.durable.pending.Add(1) // as handBehindLocked counts it
		p.storeBehindLocked(ctx, nil)
		p.durable.lock.Unlock()
		if be.seq.Load() == 0 {
			t.Fatal("the event was not stored")
		}

		p.complete(ctx, &queueItem{remote: evt, login: login, behind: be}, nil)
		if n := p.durable.pending.Load(); n != 0 {
			t.Errorf("%d events counted as on their way after the only one was bridged, want 0", n)
		}
		if rows, err := db.RemoteEvents.Pending(ctx); err != nil || len(rows) != 0 {
			t.Errorf("%d rows left in the queue (%v), want the bridged event's deleted", len(rows), err)
		}
	})
}
