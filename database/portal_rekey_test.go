package database_test

import (
	"errors"
	"testing"

	"github.com/ferrybridge/ferry/bridge/network"
	"github.com/ferrybridge/ferry/database"
	"github.com/ferrybridge/ferry/internal/dbtest"
)

// TestPortalRekey: a portal moved to a new key takes its messages, their
// reactions, its user rows and its waiting remote events along; a roomless
// row at the new key gives way, a room there refuses the move.
func TestPortalRekey(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *database.Database) {
		lidKey := network.PortalKey{Network: "whatsapp", Chat: "200000000002@lid", Receiver: "4915100000001"}
		pnKey := network.PortalKey{Network: "whatsapp", Chat: "4915100000002@s.whatsapp.net", Receiver: "4915100000001"}
		putLogin(t, db, "whatsapp", "4915100000001", "@alice:example.org")
		putPortal(t, db, lidKey, "!dm:example.org")
		putPortal(t, db, pnKey, "") // looked at once, never got a room
		putMessage(t, db, lidKey, "M1", "", "$m1", 1000)
		must(t, db.Reactions.Put(ctx, &database.Reaction{Portal: lidKey, Target: "M1", Sender: "4915100000001", Emoji: "👍", Key: "👍",
			EventID: "$r1", RoomID: "!dm:example.org", Timestamp: ms(2000)}))
		must(t, db.UserPortals.Put(ctx, &database.UserPortal{UserMXID: "@alice:example.org", Portal: lidKey, Login: "4915100000001"}))
		must(t, db.RemoteEvents.Insert(ctx, &database.RemoteEvent{Portal: lidKey, Login: "4915100000001", Payload: []byte(`{}`), ReceivedAt: ms(3000)}))

		must(t, db.Portals.Rekey(ctx, lidKey, pnKey))

		if p, err := db.Portals.Get(ctx, lidKey); err != nil || p != nil {
			t.Errorf("the old key still has %+v, %v", p, err)
		}
		p, err := db.Portals.Get(ctx, pnKey)
		must(t, err)
		if p == nil || p.RoomID != "!dm:example.org" {
			t.Fatalf("the new key has %+v, want the room", p)
		}
		if m, _ := db.Messages.GetFirstPart(ctx, pnKey, "M1"); m == nil || m.EventID != "$m1" {
			t.Errorf("the message did not move: %+v", m)
		}
		if r, _ := db.Reactions.Get(ctx, pnKey, "M1", "4915100000001", "👍"); r == nil || r.EventID != "$r1" {
			t.Errorf("the reaction did not move: %+v", r)
		}
		if up, _ := db.UserPortals.Get(ctx, "@alice:example.org", pnKey); up == nil {
			t.Error("the user row did not move")
		}
		if evts, _ := db.RemoteEvents.ForPortal(ctx, pnKey, 0, 10); len(evts) != 1 {
			t.Errorf("waiting remote events at the new key: %d, want 1", len(evts))
		}

		// Moving onto a key with a room fails and changes nothing.
		otherKey := network.PortalKey{Network: "whatsapp", Chat: "300000000003@lid", Receiver: "4915100000001"}
		putPortal(t, db, otherKey, "!other:example.org")
		err = db.Portals.Rekey(ctx, otherKey, pnKey)
		if !errors.Is(err, database.ErrDuplicate) {
			t.Errorf("moving onto a room: err = %v, want ErrDuplicate", err)
		}
		if p, _ := db.Portals.Get(ctx, otherKey); p == nil || p.RoomID != "!other:example.org" {
			t.Errorf("the refused move changed the source: %+v", p)
		}
		if p, _ := db.Portals.Get(ctx, pnKey); p == nil || p.RoomID != "!dm:example.org" {
			t.Errorf("the refused move changed the target: %+v", p)
		}
		// A missing source is no error; another network is.
		must(t, db.Portals.Rekey(ctx, network.PortalKey{Network: "whatsapp", Chat: "missing"}, network.PortalKey{Network: "whatsapp", Chat: "x"}))
		if err := db.Portals.Rekey(ctx, pnKey, network.PortalKey{Network: "irc", Chat: "x"}); err == nil {
			t.Error("moving a portal to another network succeeded")
		}
	})
}
