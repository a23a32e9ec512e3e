package database_test

import (
	"context"
	"encoding/json"
	"testing"

	"github.com/ferrybridge/ferry/bridge/network"
	"github.com/ferrybridge/ferry/database"
	"github.com/ferrybridge/ferry/internal/dbtest"
)

func TestRemoteEventQueue(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *database.Database) {
		ctx := context.Background()
		a := network.PortalKey{Network: "irc", Chat: "libera/#a"}
		b := network.PortalKey{Network: "irc", Chat: "libera/bob", Receiver: "libera/@x:y"}
		var seqs []int64
		for i, key := range []network.PortalKey{a, b, a, a} {
			e := &database.RemoteEvent{Portal: key, Login: "l", Payload: json.RawMessage(`{"n":` + string(rune('0'+i)) + `}`)}
			if err := db.RemoteEvents.Insert(ctx, e); err != nil {
				t.Fatal(err)
			}
			if len(seqs) > 0 && e.Seq <= seqs[len(seqs)-1] {
				t.Fatalf("seq did not increase: %d after %d", e.Seq, seqs[len(seqs)-1])
			}
			seqs = append(seqs, e.Seq)
		}
		if err := db.RemoteEvents.Insert(ctx, &database.RemoteEvent{Portal: a, Login: "l"}); err == nil {
			t.Errorf("an empty payload was stored")
		}
		all, err := db.RemoteEvents.Pending(ctx)
		if err != nil || len(all) != 4 {
			t.Fatalf("pending: %d rows, %v", len(all), err)
		}
		if all[1].Portal != b || string(all[1].Payload) != `{"n":1}` || all[1].ReceivedAt.IsZero() {
			t.Errorf("row read back as %+v", all[1])
		}
		ofA, err := db.RemoteEvents.ForPortal(ctx, a, seqs[0], 10)
		if err != nil || len(ofA) != 2 || ofA[0].Seq != seqs[2] || ofA[1].Seq != seqs[3] {
			t.Fatalf("ForPortal after the first: %+v, %v", ofA, err)
		}
		if limited, _ := db.RemoteEvents.ForPortal(ctx, a, 0, 1); len(limited) != 1 || limited[0].Seq != seqs[0] {
			t.Errorf("ForPortal with limit 1: %+v", limited)
		}
		if err = db.RemoteEvents.Delete(ctx, seqs[0]); err != nil {
			t.Fatal(err)
		}
		if left, _ := db.RemoteEvents.Pending(ctx); len(left) != 3 {
			t.Errorf("%d rows after a delete, want 3", len(left))
		}
	})
}
