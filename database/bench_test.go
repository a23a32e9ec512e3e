package database_test

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"maunium.net/go/mautrix/id"

	"github.com/ferrybridge/ferry/bridge/network"
	"github.com/ferrybridge/ferry/database"
	"github.com/ferrybridge/ferry/internal/dbtest"
	"github.com/ferrybridge/ferry/internal/pgtest"
)

// The message-ID mapping is on the hot path of every bridged message:
// dedup by remote ID, reply and edit lookups by event ID. These benchmarks
// measure both lookups on a table of realistic size, on both dialects.

const benchMessages = 20_000

func benchDatabases(b *testing.B) map[string]*database.Database {
	return map[string]*database.Database{
		"sqlite":   dbtest.Open(b, database.DefaultType, dbtest.SQLiteURI(b)),
		"postgres": dbtest.Open(b, "postgres", pgtest.URI(b)),
	}
}

func fillMessages(b *testing.B, db *database.Database, key network.PortalKey) {
	b.Helper()
	ctx := context.Background()
	if err := db.Portals.Put(ctx, &database.Portal{Key: key, RoomID: "!bench:example.org"}); err != nil {
		b.Fatal(err)
	}
	err := db.DoTxn(ctx, nil, func(ctx context.Context) error {
		for i := 0; i < benchMessages; i++ {
			err := db.Messages.Put(ctx, &database.Message{
				Portal: key, ID: network.MessageID(fmt.Sprintf("msg-%d", i)),
				EventID: id.EventID(fmt.Sprintf("$event-%d", i)), RoomID: "!bench:example.org",
				Sender: "bob", SenderMXID: "@irc_bob:example.org", Timestamp: time.UnixMilli(int64(i)),
			})
			if err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		b.Fatal(err)
	}
}

func BenchmarkMessageLookup(b *testing.B) {
	key := network.PortalKey{Network: "irc", Chat: "bench/#bench"}
	for name, db := range benchDatabases(b) {
		fillMessages(b, db, key)
		ctx := context.Background()
		b.Run(name+"/by-remote-id", func(b *testing.B) {
			for i := 0; b.Loop(); i++ {
				if _, err := db.Messages.GetFirstPart(ctx, key, network.MessageID(fmt.Sprintf("msg-%d", i%benchMessages))); err != nil {
					b.Fatal(err)
				}
			}
		})
		// A remote message's parts, looked up for every message that
		// arrives (the duplicate check): a query of many rows.
		b.Run(name+"/parts-by-remote-id", func(b *testing.B) {
			for i := 0; b.Loop(); i++ {
				if _, err := db.Messages.GetParts(ctx, key, network.MessageID(fmt.Sprintf("msg-%d", i%benchMessages))); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(name+"/by-event-id", func(b *testing.B) {
			for i := 0; b.Loop(); i++ {
				if _, err := db.Messages.GetByEventID(ctx, id.EventID(fmt.Sprintf("$event-%d", i%benchMessages))); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// Every Matrix event Ferry bridges is looked up in the inbound queue (is
// it a redelivery?) before it is routed, stored before the homeserver gets
// its answer, and marked handled afterwards: the look-up is on the Matrix
// -> network hot path, the two writes just after it, one transaction of
// one event each as Dendrite sends them when a room is quiet.
func BenchmarkMatrixEventQueue(b *testing.B) {
	data := json.RawMessage(`{"type":"m.room.message","sender":"@alice:example.org","content":{"msgtype":"m.text","body":"hello there"}}`)
	for name, db := range benchDatabases(b) {
		// Cancellable, as a request's context is.
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		b.Run(name+"/enqueue", func(b *testing.B) {
			for i := 0; b.Loop(); i++ {
				evt := &database.QueuedEvent{EventID: id.EventID(fmt.Sprintf("$enq-%d", i)), RoomID: "!bench:example.org", Data: data}
				if _, err := db.MatrixEvents.Enqueue(ctx, []*database.QueuedEvent{evt}); err != nil {
					b.Fatal(err)
				}
			}
		})
		// Against the events stored by the runs above: a miss, as for
		// every event that is not a redelivery.
		b.Run(name+"/stored-lookup", func(b *testing.B) {
			for i := 0; b.Loop(); i++ {
				ids := []id.EventID{id.EventID(fmt.Sprintf("$new-%d", i))}
				if stored, err := db.MatrixEvents.Stored(ctx, ids); err != nil || len(stored) != 0 {
					b.Fatal(stored, err)
				}
			}
		})
		b.Run(name+"/enqueue-and-mark-handled", func(b *testing.B) {
			for i := 0; b.Loop(); i++ {
				evt := &database.QueuedEvent{EventID: id.EventID(fmt.Sprintf("$handled-%d", i)), RoomID: "!bench:example.org", Data: data}
				if _, err := db.MatrixEvents.Enqueue(ctx, []*database.QueuedEvent{evt}); err != nil {
					b.Fatal(err)
				}
				if err := db.MatrixEvents.MarkHandled(ctx, evt.EventID); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
