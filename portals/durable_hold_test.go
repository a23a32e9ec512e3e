package portals

import (
	"context"
	"testing"
	"time"

	"maunium.net/go/mautrix/event"

	"github.com/ferrybridge/ferry/bridge/network"
	"github.com/ferrybridge/ferry/database"
	"github.com/ferrybridge/ferry/internal/dbtest"
)

// Between HoldDurable and its replay the bridge loads its logins one by
// one, and each may hand its portals work as it connects. A portal held
// with events of a login not loaded yet must not drain them then: each
// would find its login not running and be passed over until the next
// start (dropped, before bfec093). Here bob's stored event waits while
// alice's login runs something on the portal.
func TestHeldEventsWaitForTheReplay(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *database.Database) {
		ctx, p, _, _ := memberScene(t, db)
		m := p.m
		if err := db.Logins.Put(ctx, &database.Login{Network: "test", ID: "bob", UserMXID: "@bob:example.org"}); err != nil {
			t.Fatal(err)
		}
		payload, err := network.MarshalEvent(&network.Message{
			Meta:  network.Meta{Portal: p.Key, Sender: network.Sender{User: "carol"}, Timestamp: time.Now()},
			ID:    "stored",
			Parts: []network.Part{{Content: &event.MessageEventContent{MsgType: event.MsgText, Body: "stored"}}},
		})
		if err != nil {
			t.Fatal(err)
		}
		row := &database.RemoteEvent{Portal: p.Key, Login: "bob", ReceivedAt: time.Now(), Payload: payload}
		if err = db.RemoteEvents.Insert(ctx, row); err != nil {
			t.Fatal(err)
		}

		replay, err := m.HoldDurable(ctx)
		if err != nil {
			t.Fatal(err)
		}
		// What a connecting login's work looks like to the portal.
		if err = m.Do(ctx, p, func(context.Context) error { return nil }); err != nil {
			t.Fatal(err)
		}
		// The goroutine marks itself idle only after the drain it would
		// start once its queue is empty.
		for deadline := time.Now().Add(30 * time.Second); p.busy.Load(); {
			if time.Now().After(deadline) {
				t.Fatal("the portal's goroutine never went idle")
			}
			time.Sleep(10 * time.Millisecond)
		}
		rows, err := db.RemoteEvents.Pending(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if len(rows) != 1 {
			t.Fatalf("%d events stored before the replay, want bob's still waiting for his login", len(rows))
		}
		if n := p.durable.pending.Load(); n != 1 {
			t.Errorf("%d events counted as waiting, want 1", n)
		}

		// The replay drains it. bob's login is still not running, but it
		// is stored (it could not be started), so the drain passes the
		// event and leaves it stored for a start that loads the login.
		replay()
		for deadline := time.Now().Add(30 * time.Second); p.durable.pending.Load() != 0; time.Sleep(10 * time.Millisecond) {
			if time.Now().After(deadline) {
				t.Fatal("the replay did not reach the held event")
			}
		}
		if rows, err = db.RemoteEvents.Pending(ctx); err != nil {
			t.Fatal(err)
		}
		if len(rows) != 1 {
			t.Errorf("%d events stored after the replay, want bob's kept for the start that loads his login", len(rows))
		}
	})
}
