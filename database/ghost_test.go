package database_test

import (
	"encoding/json"
	"reflect"
	"testing"

	"maunium.net/go/mautrix/id"

	"github.com/ferrybridge/ferry/bridge/network"
	"github.com/ferrybridge/ferry/database"
	"github.com/ferrybridge/ferry/internal/dbtest"
)

func TestGhosts(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *database.Database) {
		key := network.GhostKey{Network: "whatsapp", User: "4915100000002"}
		got, err := db.Ghosts.Get(ctx, key)
		must(t, err)
		if got != nil {
			t.Fatalf("Get of a missing ghost = %+v", got)
		}
		for _, mxid := range []id.UserID{"@whatsapp_4915100000002:example.org", ""} {
			got, err = db.Ghosts.GetByMXID(ctx, mxid)
			must(t, err)
			if got != nil {
				t.Fatalf("GetByMXID(%q) of a missing ghost = %+v", mxid, got)
			}
		}

		g := &database.Ghost{
			Key: key, MXID: "@whatsapp_4915100000002:example.org", Name: "Bob",
			AvatarID: "pic-1", AvatarMXC: "mxc://example.org/bob", NameSet: true, Registered: true,
			Metadata: json.RawMessage(`{"business":false}`),
		}
		must(t, db.Ghosts.Put(ctx, g))
		got, err = db.Ghosts.Get(ctx, key)
		must(t, err)
		if !reflect.DeepEqual(got, g) {
			t.Fatalf("Get = %+v\nwant %+v", got, g)
		}
		got, err = db.Ghosts.GetByMXID(ctx, g.MXID)
		must(t, err)
		if !reflect.DeepEqual(got, g) {
			t.Fatalf("GetByMXID = %+v\nwant %+v", got, g)
		}

		// Upsert.
		g.Name, g.NameSet, g.AvatarSet, g.AvatarID, g.Metadata = "Robert", false, true, "pic-2", nil
		must(t, db.Ghosts.Put(ctx, g))
		got, err = db.Ghosts.Get(ctx, key)
		must(t, err)
		g.Metadata = json.RawMessage(`{}`)
		if !reflect.DeepEqual(got, g) {
			t.Fatalf("after upsert Get = %+v\nwant %+v", got, g)
		}

		// Ghosts without an MXID do not collide with each other, but two
		// ghosts cannot share one.
		must(t, db.Ghosts.Put(ctx, &database.Ghost{Key: network.GhostKey{Network: "irc", User: "a"}}))
		must(t, db.Ghosts.Put(ctx, &database.Ghost{Key: network.GhostKey{Network: "irc", User: "b"}}))
		if got, _ := db.Ghosts.GetByMXID(ctx, ""); got != nil {
			t.Errorf("GetByMXID(\"\") = %+v, want nil", got)
		}
		if err := db.Ghosts.Put(ctx, &database.Ghost{Key: network.GhostKey{Network: "irc", User: "c"}, MXID: g.MXID}); err == nil {
			t.Error("second ghost with the same MXID was accepted")
		}
	})
}
