package portals

import (
	"testing"
	"time"

	"maunium.net/go/mautrix/event"

	"github.com/ferrybridge/ferry/bridge/network"
	"github.com/ferrybridge/ferry/database"
	"github.com/ferrybridge/ferry/internal/dbtest"
)

// An event a network handed over in memory (QueueRemote) and stopped
// waiting for (HandleEvent returned ErrStillQueued, which promises that
// the core still holds it) was still in the portal's queue when the
// bridge stopped: no goroutine bridged it, nothing stored it, and no one
// heard of it. The stop must store it, so that the next start bridges
// it, and tell a network still waiting that it is kept.
func TestEventLeftQueuedAtStopIsStored(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *database.Database) {
		ctx, p, _, login := memberScene(t, db)
		m := p.m

		// No goroutine starts from now on: the events stay queued, as
		// behind a slow one when the stop comes.
		m.lock.Lock()
		m.stopped = true
		m.lock.Unlock()
		msg := func(id network.MessageID) *network.Message {
			return &network.Message{
				Meta:  network.Meta{Portal: p.Key, Sender: network.Sender{User: "bob"}, Timestamp: time.Now()},
				ID:    id,
				Parts: []network.Part{{Content: &event.MessageEventContent{MsgType: event.MsgText, Body: string(id)}}},
			}
		}
		left, err := m.QueueRemote(ctx, login, msg("left"))
		if err != nil {
			t.Fatal(err)
		}
		if _, came := left.Leave(); came {
			t.Fatal("the scene needs the event still queued")
		}
		waiting, err := m.QueueRemote(ctx, login, msg("waiting"))
		if err != nil {
			t.Fatal(err)
		}

		m.Stop()
		rows, err := db.RemoteEvents.Pending(ctx)
		if err != nil {
			t.Fatal(err)
		}
		var ids []network.MessageID
		for _, row := range rows {
			if stored, err := network.UnmarshalEvent(row.Payload); err == nil {
				ids = append(ids, stored.(*network.Message).ID)
			}
		}
		if len(ids) != 2 || ids[0] != "left" || ids[1] != "waiting" {
			t.Errorf("stored after the stop: %q; want the events left queued, in order", ids)
		}
		select {
		case err := <-waiting.Outcome():
			if err != nil {
				t.Errorf("the waiting network heard %v; want nil, the event kept", err)
			}
		default:
			t.Error("the waiting network heard nothing at the stop")
		}
	})
}
