package portals

import (
	"context"
	"errors"
	"testing"
	"time"

	"maunium.net/go/mautrix/event"

	"github.com/ferrybridge/ferry/bridge/network"
	"github.com/ferrybridge/ferry/database"
	"github.com/ferrybridge/ferry/internal/dbtest"
)

// An event a network waits for (HandleEvent) is stored behind the
// portal's backlog. It was stored whatever the backlog's size: a network
// that gave up waiting (WhatsApp after three minutes) left it stored and
// later redelivered it, stored again, so a backlog drained slower than
// events came grew without bound. Past MaxPendingPerPortal the network
// is now held back without storing its event, until the drain makes
// room or the network gives up (and keeps the event, told ErrQueueFull).
func TestEventWaitedForPastTheBoundIsHeldBack(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *database.Database) {
		setForTest(t, &MaxPendingPerPortal, 2)
		ctx, p, _, login := memberScene(t, db)
		message := func(id network.MessageID) *network.Message {
			return &network.Message{
				Meta:  network.Meta{Portal: p.Key, Sender: network.Sender{User: "bob"}, Timestamp: time.Now()},
				ID:    id,
				Parts: []network.Part{{Content: &event.MessageEventContent{MsgType: event.MsgText, Body: string(id)}}},
			}
		}
		stored := func() []*database.RemoteEvent {
			t.Helper()
			rows, err := db.RemoteEvents.Pending(ctx)
			if err != nil {
				t.Fatal(err)
			}
			return rows
		}
		// A backlog the portal does not drain in this test: held, as
		// before a replay.
		p.durable.lock.Lock()
		p.durable.backlog.Store(true)
		p.durable.held.Store(true)
		p.durable.lock.Unlock()
		for _, id := range []network.MessageID{"first", "second"} {
			if result, err := p.m.QueueRemote(ctx, login, message(id)); err != nil || result == nil {
				t.Fatalf("%s: %v, %v; want it stored behind the backlog", id, result, err)
			}
		}

		short, cancel := context.WithTimeout(ctx, 300*time.Millisecond)
		defer cancel()
		if _, err := p.m.QueueRemote(short, login, message("given up")); !errors.Is(err, ErrQueueFull) {
			t.Errorf("past the bound the network heard %v, want ErrQueueFull once it gave up", err)
		}
		if rows := stored(); len(rows) != 2 {
			t.Fatalf("%d events stored, want the bound's 2: the one the network gave up on stays with it", len(rows))
		}

		// Room made while a network waits: its event goes in then.
		type outcome struct {
			result *RemoteWait
			err    error
		}
		queued := make(chan outcome, 1)
		go func() {
			result, err := p.m.QueueRemote(ctx, login, message("third"))
			queued <- outcome{result, err}
		}()
		select {
		case o := <-queued:
			t.Fatalf("past the bound QueueRemote returned %v, %v; want the network held back", o.result, o.err)
		case <-time.After(300 * time.Millisecond):
		}
		p.finishStored(ctx, stored()[0].Seq)
		select {
		case o := <-queued:
			if o.err != nil || o.result == nil {
				t.Fatalf("with room made, the held event got %v, %v; want it stored", o.result, o.err)
			}
		case <-time.After(10 * time.Second):
			t.Fatal("the held event was not taken once there was room")
		}
		if rows := stored(); len(rows) != 2 {
			t.Errorf("%d events stored, want the second and the third", len(rows))
		}
	})
}
