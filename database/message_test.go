package database_test

import (
	"errors"
	"reflect"
	"testing"

	"github.com/ferrybridge/ferry/bridge/network"
	"github.com/ferrybridge/ferry/database"
	"github.com/ferrybridge/ferry/internal/dbtest"
)

func TestMessages(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *database.Database) {
		putPortal(t, db, waPortal, "!wa:example.org")

		if m, err := db.Messages.Latest(ctx, waPortal); err != nil || m != nil {
			t.Fatalf("Latest of an empty portal = %+v, %v", m, err)
		}

		// Parts come back in insertion order, not sorted by part ID.
		caption := putMessage(t, db, waPortal, "m1", "z-caption", "$m1-z", 1000)
		image := putMessage(t, db, waPortal, "m1", "a-image", "$m1-a", 1000)
		extra := putMessage(t, db, waPortal, "m1", "m-extra", "$m1-m", 1000)

		parts, err := db.Messages.GetParts(ctx, waPortal, "m1")
		must(t, err)
		if !reflect.DeepEqual(parts, []*database.Message{caption, image, extra}) {
			t.Fatalf("GetParts = %+v", parts)
		}
		first, err := db.Messages.GetFirstPart(ctx, waPortal, "m1")
		must(t, err)
		if !reflect.DeepEqual(first, caption) {
			t.Errorf("GetFirstPart = %+v, want the caption", first)
		}
		part, err := db.Messages.GetPart(ctx, waPortal, "m1", "a-image")
		must(t, err)
		if !reflect.DeepEqual(part, image) {
			t.Errorf("GetPart = %+v", part)
		}
		byEvent, err := db.Messages.GetByEventID(ctx, "$m1-m")
		must(t, err)
		if !reflect.DeepEqual(byEvent, extra) {
			t.Errorf("GetByEventID = %+v", byEvent)
		}

		// Missing rows are nil.
		for name, get := range map[string]func() (*database.Message, error){
			"GetPart":      func() (*database.Message, error) { return db.Messages.GetPart(ctx, waPortal, "m1", "nope") },
			"GetFirstPart": func() (*database.Message, error) { return db.Messages.GetFirstPart(ctx, waPortal, "m2") },
			"GetByEventID": func() (*database.Message, error) { return db.Messages.GetByEventID(ctx, "$nope") },
			"other portal": func() (*database.Message, error) { return db.Messages.GetPart(ctx, ircPortal, "m1", "a-image") },
		} {
			if m, err := get(); err != nil || m != nil {
				t.Errorf("%s of a missing message = %+v, %v", name, m, err)
			}
		}
		if parts, err := db.Messages.GetParts(ctx, waPortal, "m2"); err != nil || len(parts) != 0 {
			t.Errorf("GetParts of a missing message = %+v, %v", parts, err)
		}

		// Duplicates are recognisable: same part, or same event.
		dupPart := *image
		dupPart.EventID = "$other"
		err = db.Messages.Put(ctx, &dupPart)
		if !errors.Is(err, database.ErrDuplicate) || !database.IsDuplicate(err) {
			t.Errorf("duplicate part: err = %v, want ErrDuplicate", err)
		}
		dupEvent := *image
		dupEvent.ID = "m9"
		if err := db.Messages.Put(ctx, &dupEvent); !errors.Is(err, database.ErrDuplicate) {
			t.Errorf("duplicate event: err = %v, want ErrDuplicate", err)
		}
		// A missing portal is an error, but not a duplicate.
		orphan := &database.Message{Portal: ircPortal, ID: "x", EventID: "$x", RoomID: "!r:example.org", Timestamp: ms(1)}
		if err := db.Messages.Put(ctx, orphan); err == nil || database.IsDuplicate(err) {
			t.Errorf("message in a missing portal: err = %v, want a non-duplicate error", err)
		}

		// Latest goes by timestamp, not insertion; ties by insertion.
		putMessage(t, db, waPortal, "m3", "", "$m3", 3000)
		putMessage(t, db, waPortal, "m2", "", "$m2", 2000)
		latest, err := db.Messages.Latest(ctx, waPortal)
		must(t, err)
		if latest.ID != "m3" {
			t.Errorf("Latest = %s, want m3", latest.ID)
		}
		putMessage(t, db, waPortal, "m4", "", "$m4", 3000)
		latest, err = db.Messages.Latest(ctx, waPortal)
		must(t, err)
		if latest.ID != "m4" {
			t.Errorf("Latest with a tie = %s, want the later-stored m4", latest.ID)
		}

		// Edit counts.
		must(t, db.Messages.BumpEditCount(ctx, waPortal, "m1", "a-image"))
		must(t, db.Messages.BumpEditCount(ctx, waPortal, "m1", "a-image"))
		must(t, db.Messages.BumpEditCount(ctx, waPortal, "m1", "missing")) // no-op
		part, err = db.Messages.GetPart(ctx, waPortal, "m1", "a-image")
		must(t, err)
		if part.EditCount != 2 {
			t.Errorf("EditCount = %d, want 2", part.EditCount)
		}
		if other, _ := db.Messages.GetPart(ctx, waPortal, "m1", "z-caption"); other.EditCount != 0 {
			t.Errorf("bumping one part changed another to %d", other.EditCount)
		}

		// DeletePart removes one part, and only it.
		must(t, db.Messages.DeletePart(ctx, waPortal, "m1", "m-extra"))
		must(t, db.Messages.DeletePart(ctx, waPortal, "m1", "m-extra")) // missing: no error
		if m, _ := db.Messages.GetByEventID(ctx, "$m1-m"); m != nil {
			t.Errorf("GetByEventID after DeletePart = %+v", m)
		}
		if parts, _ := db.Messages.GetParts(ctx, waPortal, "m1"); len(parts) != 2 {
			t.Errorf("parts after DeletePart of one of three: %+v, want the other two", parts)
		}

		// Delete removes all parts, and only those.
		must(t, db.Messages.Delete(ctx, waPortal, "m1"))
		must(t, db.Messages.Delete(ctx, waPortal, "m1")) // missing: no error
		if parts, _ := db.Messages.GetParts(ctx, waPortal, "m1"); len(parts) != 0 {
			t.Errorf("parts after Delete: %+v", parts)
		}
		if m, _ := db.Messages.GetByEventID(ctx, "$m1-z"); m != nil {
			t.Errorf("GetByEventID after Delete = %+v", m)
		}
		if m, _ := db.Messages.GetByEventID(ctx, "$m2"); m == nil {
			t.Error("Delete removed another message")
		}
		// The deleted part can be stored again.
		putMessage(t, db, waPortal, "m1", "", "$m1-again", 4000)
	})
}

// A message may have a part "" and the portal a shared (empty) receiver:
// empty strings are ordinary key values.
func TestMessageEmptyKeys(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *database.Database) {
		key := network.PortalKey{Network: "irc", Chat: "libera/#ferry"}
		putPortal(t, db, key, "")
		want := putMessage(t, db, key, "msg", "", "$e", 1)
		got, err := db.Messages.GetPart(ctx, key, "msg", "")
		must(t, err)
		if !reflect.DeepEqual(got, want) {
			t.Errorf("GetPart = %+v, want %+v", got, want)
		}
	})
}

// A placeholder is stored as such and becomes real once, taking the real
// message's first part ID, without touching other messages.
func TestMessagePlaceholder(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *database.Database) {
		putPortal(t, db, waPortal, "!wa:example.org")
		stand := &database.Message{Portal: waPortal, ID: "m1", EventID: "$stand", RoomID: "!wa:example.org",
			Timestamp: ms(1000), Placeholder: true}
		must(t, db.Messages.Put(ctx, stand))
		other := &database.Message{Portal: waPortal, ID: "m2", EventID: "$other", RoomID: "!wa:example.org",
			Timestamp: ms(1000), Placeholder: true}
		must(t, db.Messages.Put(ctx, other))

		got, err := db.Messages.GetFirstPart(ctx, waPortal, "m1")
		must(t, err)
		if !got.Placeholder {
			t.Fatalf("stored placeholder reads back as %+v", got)
		}
		must(t, db.Messages.ClearPlaceholder(ctx, waPortal, "m1", "image"))
		must(t, db.Messages.ClearPlaceholder(ctx, waPortal, "missing", "")) // no-op
		if got, _ = db.Messages.GetFirstPart(ctx, waPortal, "m1"); got.Placeholder || got.Part != "image" || got.EventID != "$stand" {
			t.Errorf("after ClearPlaceholder the stand-in reads %+v, want a real part \"image\" of $stand", got)
		}
		// A second clear (a redelivery) does not rename a real part.
		must(t, db.Messages.ClearPlaceholder(ctx, waPortal, "m1", "other"))
		if got, _ = db.Messages.GetFirstPart(ctx, waPortal, "m1"); got.Part != "image" {
			t.Errorf("a second ClearPlaceholder renamed the part to %q", got.Part)
		}
		if got, _ = db.Messages.GetFirstPart(ctx, waPortal, "m2"); !got.Placeholder {
			t.Error("ClearPlaceholder cleared another message")
		}
	})
}
