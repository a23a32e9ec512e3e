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

func TestPortals(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *database.Database) {
		got, err := db.Portals.Get(ctx, waPortal)
		must(t, err)
		if got != nil {
			t.Fatalf("Get of a missing portal = %+v", got)
		}
		for _, room := range []id.RoomID{"!missing:example.org", ""} {
			got, err = db.Portals.GetByRoom(ctx, room)
			must(t, err)
			if got != nil {
				t.Fatalf("GetByRoom(%q) = %+v, want nil", room, got)
			}
		}

		dm := &database.Portal{
			Key: waPortal, RoomID: "!dm:example.org", Name: "Bob", Topic: "WhatsApp chat",
			AvatarID: "avatar-1", AvatarMXC: "mxc://example.org/abc",
			NameSet: true, TopicSet: false, AvatarSet: true, IsDirect: true,
			OtherUser: "4915100000002", RelayLogin: "", Metadata: json.RawMessage(`{"ephemeral":86400}`),
			CreatedAt: ms(5000),
		}
		must(t, db.Portals.Put(ctx, dm))
		got, err = db.Portals.Get(ctx, waPortal)
		must(t, err)
		if !reflect.DeepEqual(got, dm) {
			t.Fatalf("Get = %+v\nwant %+v", got, dm)
		}
		got, err = db.Portals.GetByRoom(ctx, "!dm:example.org")
		must(t, err)
		if !reflect.DeepEqual(got, dm) {
			t.Fatalf("GetByRoom = %+v\nwant %+v", got, dm)
		}

		// Upsert changes everything but CreatedAt.
		upd := *dm
		upd.RoomID, upd.Name, upd.NameSet, upd.TopicSet, upd.IsDirect = "!dm2:example.org", "Bobby", false, true, false
		upd.RelayLogin, upd.Metadata, upd.CreatedAt = "alice-login", nil, ms(9999)
		must(t, db.Portals.Put(ctx, &upd))
		if !upd.CreatedAt.Equal(ms(5000)) {
			t.Errorf("upsert CreatedAt = %v, want the stored %v", upd.CreatedAt, ms(5000))
		}
		got, err = db.Portals.Get(ctx, waPortal)
		must(t, err)
		upd.Metadata = json.RawMessage(`{}`)
		if !reflect.DeepEqual(got, &upd) {
			t.Fatalf("after upsert Get = %+v\nwant %+v", got, &upd)
		}
		if got, _ := db.Portals.GetByRoom(ctx, "!dm:example.org"); got != nil {
			t.Errorf("old room still maps to %s", got.Key)
		}

		// Portals without a room do not collide; two portals in one room do.
		shared := putPortal(t, db, ircPortal, "")
		putPortal(t, db, network.PortalKey{Network: "irc", Chat: "libera/#other"}, "")
		other := &database.Portal{Key: network.PortalKey{Network: "irc", Chat: "libera/#x"}, RoomID: "!dm2:example.org"}
		if err := db.Portals.Put(ctx, other); err == nil {
			t.Error("second portal in the same room was accepted")
		}
		got, err = db.Portals.Get(ctx, ircPortal)
		must(t, err)
		if got.RoomID != "" || string(got.Metadata) != "{}" || !reflect.DeepEqual(got, shared) {
			t.Errorf("room-less portal = %+v", got)
		}

		keys := func(ps []*database.Portal, err error) []network.PortalKey {
			t.Helper()
			must(t, err)
			out := []network.PortalKey{}
			for _, p := range ps {
				out = append(out, p.Key)
			}
			return out
		}
		if got := keys(db.Portals.ByReceiver(ctx, "whatsapp", "alice-login")); !reflect.DeepEqual(got, []network.PortalKey{waPortal}) {
			t.Errorf("ByReceiver(alice-login) = %v", got)
		}
		if got := keys(db.Portals.ByReceiver(ctx, "irc", "")); len(got) != 2 {
			t.Errorf("ByReceiver(irc, \"\") = %v, want the 2 shared portals", got)
		}
		if got := keys(db.Portals.ByReceiver(ctx, "whatsapp", "nobody")); len(got) != 0 {
			t.Errorf("ByReceiver(nobody) = %v", got)
		}

		must(t, db.Portals.Delete(ctx, ircPortal))
		must(t, db.Portals.Delete(ctx, ircPortal)) // missing: no error
		if got, _ := db.Portals.Get(ctx, ircPortal); got != nil {
			t.Errorf("Get after Delete = %+v", got)
		}
	})
}

// Deleting a portal takes everything that belongs to it along.
func TestPortalDeleteCascades(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *database.Database) {
		putLogin(t, db, "whatsapp", "alice-login", "@alice:example.org")
		putPortal(t, db, waPortal, "!wa:example.org")
		putPortal(t, db, ircPortal, "!irc:example.org")
		for _, key := range []network.PortalKey{waPortal, ircPortal} {
			putMessage(t, db, key, "m1", "", portalEvent("$", key), 1)
			must(t, db.Reactions.Put(ctx, &database.Reaction{
				Portal: key, Target: "m1", Sender: "bob", Key: "👍",
				EventID: portalEvent("$r", key), RoomID: "!r:example.org", Timestamp: ms(2),
			}))
		}
		must(t, db.UserPortals.Put(ctx, &database.UserPortal{UserMXID: "@alice:example.org", Portal: waPortal, Login: "alice-login"}))

		must(t, db.Portals.Delete(ctx, waPortal))

		if m, _ := db.Messages.GetByEventID(ctx, portalEvent("$", waPortal)); m != nil {
			t.Error("message survived its portal")
		}
		if r, _ := db.Reactions.GetByEventID(ctx, portalEvent("$r", waPortal)); r != nil {
			t.Error("reaction survived its portal")
		}
		if up, _ := db.UserPortals.Get(ctx, "@alice:example.org", waPortal); up != nil {
			t.Error("user portal survived its portal")
		}
		// The other portal is untouched.
		if m, _ := db.Messages.GetByEventID(ctx, portalEvent("$", ircPortal)); m == nil {
			t.Error("message of another portal was deleted")
		}
		if r, _ := db.Reactions.GetByEventID(ctx, portalEvent("$r", ircPortal)); r == nil {
			t.Error("reaction in another portal was deleted")
		}
	})
}

// portalEvent makes an event ID that differs per portal.
func portalEvent(prefix string, key network.PortalKey) id.EventID {
	return id.EventID(prefix + string(key.Network) + "-evt")
}

// Free text from a network that is not UTF-8 (an IRC topic in Latin-1) or
// holds a NUL is stored, the same on both dialects, where PostgreSQL
// refused the whole row: the portal (or ghost) could not be stored.
func TestTextThatIsNotUTF8IsStored(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *database.Database) {
		key := network.PortalKey{Network: "irc", Chat: "libera/#cafe"}
		if err := db.Portals.Put(ctx, &database.Portal{Key: key, Name: "caf\xe9", Topic: "caf\xe9 cr\xe8me"}); err != nil {
			t.Fatalf("a Latin-1 name and topic: %v", err)
		}
		p, err := db.Portals.Get(ctx, key)
		if err != nil || p.Name != "caf\uFFFD" || p.Topic != "caf\uFFFD cr\uFFFDme" {
			t.Errorf("stored %+v (%v)", p, err)
		}
		g := &database.Ghost{Key: network.GhostKey{Network: "whatsapp", User: "1"}, Name: "a\x00b"}
		if err := db.Ghosts.Put(ctx, g); err != nil {
			t.Fatalf("a NUL in a ghost's name: %v", err)
		}
		if got, err := db.Ghosts.Get(ctx, g.Key); err != nil || got.Name != "ab" {
			t.Errorf("stored ghost name %q (%v), want ab", got.Name, err)
		}
	})
}
