package database_test

import (
	"encoding/json"
	"reflect"
	"testing"
	"time"

	"github.com/ferrybridge/ferry/bridge/network"
	"github.com/ferrybridge/ferry/database"
	"github.com/ferrybridge/ferry/internal/dbtest"
)

func TestLogins(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *database.Database) {
		got, err := db.Logins.Get(ctx, "whatsapp", "nobody")
		must(t, err)
		if got != nil {
			t.Fatalf("Get of a missing login = %+v, want nil", got)
		}

		alice := &database.Login{
			Network: "whatsapp", ID: "4915100000001", UserMXID: "@alice:example.org",
			RemoteName: "+49 151 00000001", RemoteUser: "4915100000001", SpaceRoom: "!space:example.org",
			Metadata: json.RawMessage(`{"push_name":"Alice"}`), CreatedAt: ms(1_700_000_000_123),
		}
		must(t, db.Logins.Put(ctx, alice))
		got, err = db.Logins.Get(ctx, "whatsapp", "4915100000001")
		must(t, err)
		if !reflect.DeepEqual(got, alice) {
			t.Fatalf("Get = %+v, want %+v", got, alice)
		}

		// Upsert: fields change, CreatedAt stays the stored one and is
		// copied back into the struct.
		update := *alice
		update.RemoteName = "Alice W."
		update.RemoteUser = "4915100000009"
		update.SpaceRoom = ""
		update.Metadata = nil
		update.CreatedAt = time.Time{}
		must(t, db.Logins.Put(ctx, &update))
		if !update.CreatedAt.Equal(alice.CreatedAt) {
			t.Errorf("upsert CreatedAt = %v, want the original %v", update.CreatedAt, alice.CreatedAt)
		}
		got, err = db.Logins.Get(ctx, "whatsapp", "4915100000001")
		must(t, err)
		if got.RemoteName != "Alice W." || got.RemoteUser != "4915100000009" || got.SpaceRoom != "" || !got.CreatedAt.Equal(alice.CreatedAt) {
			t.Errorf("after upsert Get = %+v", got)
		}
		if string(got.Metadata) != "{}" {
			t.Errorf("nil metadata read back as %q, want {}", got.Metadata)
		}

		// A zero CreatedAt on insert becomes now.
		before := time.Now().Add(-time.Second)
		irc := &database.Login{Network: "irc", ID: "alice@libera", UserMXID: "@alice:example.org"}
		must(t, db.Logins.Put(ctx, irc))
		if irc.CreatedAt.Before(before) || irc.CreatedAt.After(time.Now().Add(time.Second)) {
			t.Errorf("zero CreatedAt became %v, want about now", irc.CreatedAt)
		}
		bob := putLogin(t, db, "whatsapp", "4915100000002", "@bob:example.org")

		if err := db.Logins.Put(ctx, &database.Login{Network: "x", ID: "y", Metadata: json.RawMessage(`{`)}); err == nil {
			t.Error("Put with invalid metadata succeeded")
		}

		ids := func(ls []*database.Login, err error) []string {
			t.Helper()
			must(t, err)
			out := []string{}
			for _, l := range ls {
				out = append(out, string(l.Network)+"/"+string(l.ID))
			}
			return out
		}
		// Oldest first: bob (t=1000) < alice (2023) < irc (now).
		if got, want := ids(db.Logins.ByUser(ctx, "@alice:example.org")), []string{"whatsapp/4915100000001", "irc/alice@libera"}; !reflect.DeepEqual(got, want) {
			t.Errorf("ByUser = %v, want %v", got, want)
		}
		if got, want := ids(db.Logins.ByNetwork(ctx, "whatsapp")), []string{"whatsapp/" + string(bob.ID), "whatsapp/4915100000001"}; !reflect.DeepEqual(got, want) {
			t.Errorf("ByNetwork = %v, want %v", got, want)
		}
		if got := ids(db.Logins.ByNetwork(ctx, "telegram")); len(got) != 0 {
			t.Errorf("ByNetwork of an empty network = %v", got)
		}
		if got := ids(db.Logins.All(ctx)); len(got) != 3 {
			t.Errorf("All = %v, want 3 logins", got)
		}

		must(t, db.Logins.Delete(ctx, "whatsapp", "4915100000001"))
		must(t, db.Logins.Delete(ctx, "whatsapp", "4915100000001")) // missing: no error
		got, err = db.Logins.Get(ctx, "whatsapp", "4915100000001")
		must(t, err)
		if got != nil {
			t.Errorf("Get after Delete = %+v", got)
		}
		if got := ids(db.Logins.All(ctx)); len(got) != 2 {
			t.Errorf("All after Delete = %v, want 2 logins", got)
		}
	})
}

func TestLoginCountByNetwork(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *database.Database) {
		counts, err := db.Logins.CountByNetwork(ctx)
		must(t, err)
		if len(counts) != 0 {
			t.Fatalf("CountByNetwork of an empty table = %v", counts)
		}
		for i, l := range []struct {
			net network.NetworkID
			id  network.LoginID
		}{{"whatsapp", "1"}, {"irc", "libera/alice"}, {"whatsapp", "2"}} {
			must(t, db.Logins.Put(ctx, &database.Login{Network: l.net, ID: l.id, UserMXID: "@alice:example.org", CreatedAt: ms(int64(i + 1))}))
		}
		counts, err = db.Logins.CountByNetwork(ctx)
		must(t, err)
		want := map[network.NetworkID]int{"whatsapp": 2, "irc": 1}
		if !reflect.DeepEqual(counts, want) {
			t.Errorf("CountByNetwork = %v, want %v", counts, want)
		}
	})
}
