package database_test

import (
	"reflect"
	"testing"

	"github.com/ferrybridge/ferry/database"
	"github.com/ferrybridge/ferry/internal/dbtest"
)

func TestReactions(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *database.Database) {
		putPortal(t, db, waPortal, "!wa:example.org")
		putMessage(t, db, waPortal, "m1", "", "$m1", 1000)
		putMessage(t, db, waPortal, "m1", "image", "$m1-img", 1000)

		got, err := db.Reactions.Get(ctx, waPortal, "m1", "bob", "")
		must(t, err)
		if got != nil {
			t.Fatalf("Get of a missing reaction = %+v", got)
		}
		if got, err := db.Reactions.GetByEventID(ctx, "$nope"); err != nil || got != nil {
			t.Fatalf("GetByEventID of a missing reaction = %+v, %v", got, err)
		}

		// WhatsApp style: one reaction per sender (Emoji ""), replaced.
		// The first was sent from Matrix, its replacement by the ghost.
		bob := &database.Reaction{
			Portal: waPortal, Target: "m1", Sender: "bob", Key: "👍", SenderMXID: "@bob:example.org",
			EventID: "$r1", RoomID: "!wa:example.org", Timestamp: ms(2000),
		}
		must(t, db.Reactions.Put(ctx, bob))
		got, err = db.Reactions.Get(ctx, waPortal, "m1", "bob", "")
		must(t, err)
		if !reflect.DeepEqual(got, bob) {
			t.Fatalf("Get = %+v\nwant %+v", got, bob)
		}
		bob.Key, bob.EventID, bob.Timestamp, bob.SenderMXID = "❤️", "$r2", ms(2500), ""
		must(t, db.Reactions.Put(ctx, bob))
		got, err = db.Reactions.Get(ctx, waPortal, "m1", "bob", "")
		must(t, err)
		if !reflect.DeepEqual(got, bob) {
			t.Fatalf("after upsert Get = %+v\nwant %+v", got, bob)
		}
		if got, _ := db.Reactions.GetByEventID(ctx, "$r1"); got != nil {
			t.Errorf("replaced reaction event still found: %+v", got)
		}
		got, err = db.Reactions.GetByEventID(ctx, "$r2")
		must(t, err)
		if !reflect.DeepEqual(got, bob) {
			t.Errorf("GetByEventID = %+v", got)
		}

		// Several emoji per sender, and reactions on another part.
		carolA := &database.Reaction{Portal: waPortal, Target: "m1", Sender: "carol", Emoji: "a", Key: "a", EventID: "$ca", RoomID: "!wa:example.org", Timestamp: ms(3000)}
		carolB := &database.Reaction{Portal: waPortal, Target: "m1", Sender: "carol", Emoji: "b", Key: "b", EventID: "$cb", RoomID: "!wa:example.org", Timestamp: ms(3001)}
		carolImg := &database.Reaction{Portal: waPortal, Target: "m1", TargetPart: "image", Sender: "carol", Emoji: "a", Key: "a", EventID: "$cia", RoomID: "!wa:example.org", Timestamp: ms(3002)}
		for _, r := range []*database.Reaction{carolA, carolB, carolImg} {
			must(t, db.Reactions.Put(ctx, r))
		}
		// Get searches all parts and prefers the newest.
		got, err = db.Reactions.Get(ctx, waPortal, "m1", "carol", "a")
		must(t, err)
		if !reflect.DeepEqual(got, carolImg) {
			t.Errorf("Get across parts = %+v, want the newest (on image)", got)
		}
		all, err := db.Reactions.ByTarget(ctx, waPortal, "m1")
		must(t, err)
		if !reflect.DeepEqual(all, []*database.Reaction{bob, carolA, carolB, carolImg}) {
			t.Errorf("ByTarget = %+v", all)
		}
		if none, err := db.Reactions.ByTarget(ctx, waPortal, "m2"); err != nil || len(none) != 0 {
			t.Errorf("ByTarget of a message without reactions = %+v, %v", none, err)
		}

		// Delete uses the identity only.
		must(t, db.Reactions.Delete(ctx, &database.Reaction{Portal: waPortal, Target: "m1", TargetPart: "image", Sender: "carol", Emoji: "a"}))
		must(t, db.Reactions.Delete(ctx, carolImg)) // missing: no error
		got, err = db.Reactions.Get(ctx, waPortal, "m1", "carol", "a")
		must(t, err)
		if !reflect.DeepEqual(got, carolA) {
			t.Errorf("after Delete Get = %+v, want the reaction on the first part", got)
		}

		// The target part must exist, and reactions go with it.
		orphan := &database.Reaction{Portal: waPortal, Target: "m404", Sender: "bob", EventID: "$o", RoomID: "!wa:example.org"}
		if err := db.Reactions.Put(ctx, orphan); err == nil {
			t.Error("reaction to a missing message was accepted")
		}
		must(t, db.Messages.Delete(ctx, waPortal, "m1"))
		if all, _ := db.Reactions.ByTarget(ctx, waPortal, "m1"); len(all) != 0 {
			t.Errorf("reactions survived their message: %+v", all)
		}
	})
}
