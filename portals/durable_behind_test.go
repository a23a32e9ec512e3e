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
