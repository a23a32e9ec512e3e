package database_test

import (
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/rs/zerolog"
	"maunium.net/go/mautrix/id"

	"github.com/ferrybridge/ferry/database"
	"github.com/ferrybridge/ferry/internal/dbtest"
	"github.com/ferrybridge/ferry/internal/pgtest"
)

func qe(evtID string) *database.QueuedEvent {
	return &database.QueuedEvent{
		EventID: id.EventID(evtID), RoomID: "!room:example.org",
		Data: json.RawMessage(fmt.Sprintf(`{"event_id":%q,"type":"m.room.message"}`, evtID)),
	}
}

func eventIDs(evts []*database.QueuedEvent) []string {
	out := []string{}
	for _, e := range evts {
		out = append(out, string(e.EventID))
	}
	return out
}

func TestMatrixEventQueue(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *database.Database) {
		if fresh, err := db.MatrixEvents.Enqueue(ctx, nil); err != nil || len(fresh) != 0 {
			t.Fatalf("Enqueue(nil) = %v, %v", fresh, err)
		}

		// Duplicates within one batch and across batches are stored once.
		first := []*database.QueuedEvent{qe("$a"), qe("$b"), qe("$a"), qe("$c")}
		first[1].ReceivedAt = ms(12345)
		fresh, err := db.MatrixEvents.Enqueue(ctx, first)
		must(t, err)
		if got := fmt.Sprint(eventIDs(fresh)); got != "[$a $b $c]" {
			t.Fatalf("fresh = %s, want [$a $b $c]", got)
		}
		if fresh[0] != first[0] || fresh[1] != first[1] || fresh[2] != first[3] {
			t.Error("Enqueue did not return the caller's structs")
		}
		if first[2].Seq != 0 {
			t.Errorf("the skipped duplicate got Seq %d", first[2].Seq)
		}
		if !(fresh[0].Seq < fresh[1].Seq && fresh[1].Seq < fresh[2].Seq) {
			t.Errorf("Seqs not increasing in slice order: %d %d %d", fresh[0].Seq, fresh[1].Seq, fresh[2].Seq)
		}
		if !fresh[1].ReceivedAt.Equal(ms(12345)) || fresh[0].ReceivedAt.IsZero() {
			t.Errorf("ReceivedAt = %v / %v", fresh[1].ReceivedAt, fresh[0].ReceivedAt)
		}

		second := []*database.QueuedEvent{qe("$b"), qe("$d")}
		fresh, err = db.MatrixEvents.Enqueue(ctx, second)
		must(t, err)
		if got := fmt.Sprint(eventIDs(fresh)); got != "[$d]" {
			t.Fatalf("second batch fresh = %s, want [$d]", got)
		}
		if fresh[0].Seq <= first[3].Seq {
			t.Errorf("Seq went backwards across calls: %d after %d", fresh[0].Seq, first[3].Seq)
		}
		fresh, err = db.MatrixEvents.Enqueue(ctx, []*database.QueuedEvent{qe("$a")})
		must(t, err)
		if len(fresh) != 0 {
			t.Errorf("re-enqueueing a stored event returned %s", eventIDs(fresh))
		}

		// Pending is in Seq order and returns what was stored.
		pending, err := db.MatrixEvents.Pending(ctx)
		must(t, err)
		if got := fmt.Sprint(eventIDs(pending)); got != "[$a $b $c $d]" {
			t.Fatalf("Pending = %s", got)
		}
		for i, p := range pending {
			if i > 0 && p.Seq <= pending[i-1].Seq {
				t.Errorf("Pending not in Seq order at %d", i)
			}
			if !p.HandledAt.IsZero() {
				t.Errorf("pending %s has HandledAt %v", p.EventID, p.HandledAt)
			}
		}
		if pending[1].Seq != first[1].Seq || !pending[1].ReceivedAt.Equal(ms(12345)) || pending[1].RoomID != "!room:example.org" {
			t.Errorf("stored event = %+v, enqueued %+v", pending[1], first[1])
		}
		jsonEqual(t, pending[1].Data, string(first[1].Data))
		if string(pending[1].Data) != string(first[1].Data) {
			t.Errorf("Data not stored byte for byte: %s", pending[1].Data)
		}

		// Handling: handled events leave Pending but still deduplicate.
		must(t, db.MatrixEvents.MarkHandled(ctx, "$b"))
		must(t, db.MatrixEvents.MarkHandled(ctx, "$b"))    // twice: no error
		must(t, db.MatrixEvents.MarkHandled(ctx, "$nope")) // missing: no error
		pending, err = db.MatrixEvents.Pending(ctx)
		must(t, err)
		if got := fmt.Sprint(eventIDs(pending)); got != "[$a $c $d]" {
			t.Fatalf("Pending after MarkHandled = %s", got)
		}
		fresh, err = db.MatrixEvents.Enqueue(ctx, []*database.QueuedEvent{qe("$b")})
		must(t, err)
		if len(fresh) != 0 {
			t.Errorf("a handled event was enqueued again")
		}

		// Prune removes only handled events older than the cut-off.
		n, err := db.MatrixEvents.PruneHandled(ctx, time.Now().Add(-time.Hour))
		must(t, err)
		if n != 0 {
			t.Errorf("PruneHandled with an old cut-off removed %d", n)
		}
		for _, e := range []string{"$a", "$c", "$d"} {
			must(t, db.MatrixEvents.MarkHandled(ctx, id.EventID(e)))
		}
		n, err = db.MatrixEvents.PruneHandled(ctx, time.Now().Add(time.Minute))
		must(t, err)
		if n != 4 {
			t.Errorf("PruneHandled removed %d, want 4", n)
		}
		pending, err = db.MatrixEvents.Pending(ctx)
		must(t, err)
		if len(pending) != 0 {
			t.Errorf("Pending after pruning everything = %s", eventIDs(pending))
		}

		// A pruned ID is forgotten; the table is empty now, yet Seq still
		// does not go back.
		fresh, err = db.MatrixEvents.Enqueue(ctx, []*database.QueuedEvent{qe("$a")})
		must(t, err)
		if len(fresh) != 1 || fresh[0].Seq <= second[1].Seq {
			t.Errorf("after prune: fresh = %s, Seq %v (last before prune %d)", eventIDs(fresh), fresh, second[1].Seq)
		}

		// Pending events survive pruning.
		must(t, db.MatrixEvents.MarkHandled(ctx, "$a"))
		_, err = db.MatrixEvents.Enqueue(ctx, []*database.QueuedEvent{qe("$e")})
		must(t, err)
		_, err = db.MatrixEvents.PruneHandled(ctx, time.Now().Add(time.Minute))
		must(t, err)
		pending, err = db.MatrixEvents.Pending(ctx)
		must(t, err)
		if got := fmt.Sprint(eventIDs(pending)); got != "[$e]" {
			t.Errorf("Pending after prune = %s, want [$e]", got)
		}

		// An invalid batch is rejected whole.
		bad := []*database.QueuedEvent{qe("$f"), {EventID: "$g", RoomID: "!r:example.org"}}
		if _, err := db.MatrixEvents.Enqueue(ctx, bad); err == nil {
			t.Error("Enqueue of an event without data succeeded")
		}
		if bad[0].Seq != 0 {
			t.Error("a failed Enqueue set Seq")
		}
		pending, err = db.MatrixEvents.Pending(ctx)
		must(t, err)
		if len(pending) != 1 {
			t.Errorf("a failed Enqueue stored events: %s", eventIDs(pending))
		}
	})
}

// Seq keeps increasing when the database is closed and opened again, even
// if every row was pruned in between.
func TestMatrixEventSeqAcrossReopen(t *testing.T) {
	for _, dialect := range []struct{ name, dbType string }{{"sqlite", database.DefaultType}, {"postgres", "postgres"}} {
		t.Run(dialect.name, func(t *testing.T) {
			var uri string
			if dialect.dbType == "postgres" {
				uri = pgtest.URI(t)
			} else {
				uri = dbtest.SQLiteURI(t)
			}
			var last int64
			for round := range 3 {
				db, err := database.Open(dialect.dbType, uri, zerolog.Nop())
				must(t, err)
				must(t, db.Upgrade(ctx))
				fresh, err := db.MatrixEvents.Enqueue(ctx, []*database.QueuedEvent{qe(fmt.Sprintf("$r%d", round))})
				must(t, err)
				if len(fresh) != 1 || fresh[0].Seq <= last {
					t.Fatalf("round %d: fresh %v, Seq not above %d", round, eventIDs(fresh), last)
				}
				last = fresh[0].Seq
				must(t, db.MatrixEvents.MarkHandled(ctx, fresh[0].EventID))
				if round == 1 {
					_, err = db.MatrixEvents.PruneHandled(ctx, time.Now().Add(time.Minute))
					must(t, err)
				}
				must(t, db.Close())
			}
		})
	}
}

func TestStoredMatrixEvents(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *database.Database) {
		// More than one chunk of the lookup, so that every chunk counts.
		var stored []*database.QueuedEvent
		var ask []id.EventID
		for i := range 1200 {
			evtID := fmt.Sprintf("$e%d", i)
			if i%3 == 0 {
				stored = append(stored, qe(evtID))
			}
			ask = append(ask, id.EventID(evtID))
		}
		_, err := db.MatrixEvents.Enqueue(ctx, stored)
		must(t, err)
		// A handled event is still stored: a redelivery must not be new.
		must(t, db.MatrixEvents.MarkHandled(ctx, "$e999"))
		got, err := db.MatrixEvents.Stored(ctx, ask)
		must(t, err)
		if len(got) != len(stored) {
			t.Errorf("Stored found %d of the %d stored events", len(got), len(stored))
		}
		for _, evt := range stored {
			if !got[evt.EventID] {
				t.Errorf("Stored missed %s", evt.EventID)
			}
		}
		if got["$e1"] || got["$e1199"] {
			t.Error("Stored found an event that was never stored")
		}
		if got, err = db.MatrixEvents.Stored(ctx, nil); err != nil || len(got) != 0 {
			t.Errorf("Stored(nil) = %v, %v", got, err)
		}
		// One event, the common case, takes a statement of its own.
		for evtID, want := range map[id.EventID]bool{"$e999": true, "$e0": true, "$e1": false} {
			got, err = db.MatrixEvents.Stored(ctx, []id.EventID{evtID})
			if err != nil || got[evtID] != want || len(got) != map[bool]int{true: 1}[want] {
				t.Errorf("Stored(%s) = %v, %v; want stored %v", evtID, got, err, want)
			}
		}
	})
}

// An event that held a secret is kept, handled and recognised when
// delivered again, without its body.
func TestScrubbedEventKeepsOnlyItsID(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *database.Database) {
		secret := qe("$secret")
		secret.Data = json.RawMessage(`{"event_id":"$secret","content":{"body":"hunter2"}}`)
		if _, err := db.MatrixEvents.Enqueue(ctx, []*database.QueuedEvent{secret, qe("$other")}); err != nil {
			t.Fatal(err)
		}
		if err := db.MatrixEvents.MarkHandledAndScrub(ctx, "$secret"); err != nil {
			t.Fatal(err)
		}
		var data string
		var handled bool
		if err := db.QueryRow(ctx, `SELECT data, handled_at IS NOT NULL FROM matrix_event WHERE event_id = '$secret'`).Scan(&data, &handled); err != nil {
			t.Fatal(err)
		}
		if data != "{}" || !handled {
			t.Errorf("the secret's row: data %q, handled %v; want {} and handled", data, handled)
		}
		if fresh, err := db.MatrixEvents.Enqueue(ctx, []*database.QueuedEvent{qe("$secret")}); err != nil || len(fresh) != 0 {
			t.Errorf("delivered again: %d fresh (%v), want it recognised", len(fresh), err)
		}
		pending, err := db.MatrixEvents.Pending(ctx)
		if err != nil || len(pending) != 1 || pending[0].EventID != "$other" || string(pending[0].Data) != string(qe("$other").Data) {
			t.Errorf("pending after the scrub: %v (%v); want $other untouched", eventIDs(pending), err)
		}
	})
}

// ScrubbedSince finds the events that held a secret, handled since the
// time asked, and no other.
func TestScrubbedSince(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *database.Database) {
		if _, err := db.MatrixEvents.Enqueue(ctx, []*database.QueuedEvent{qe("$secret"), qe("$other"), qe("$pending")}); err != nil {
			t.Fatal(err)
		}
		if err := db.MatrixEvents.MarkHandledAndScrub(ctx, "$secret"); err != nil {
			t.Fatal(err)
		}
		if err := db.MatrixEvents.MarkHandled(ctx, "$other"); err != nil {
			t.Fatal(err)
		}
		got, err := db.MatrixEvents.ScrubbedSince(ctx, time.Now().Add(-time.Hour))
		if err != nil {
			t.Fatal(err)
		}
		if _, ok := got["$secret"]; len(got) != 1 || !ok || time.Since(got["$secret"]) > time.Hour {
			t.Errorf("scrubbed in the last hour: %v, want $secret, handled just now", got)
		}
		if got, err = db.MatrixEvents.ScrubbedSince(ctx, time.Now().Add(time.Hour)); err != nil || len(got) != 0 {
			t.Errorf("scrubbed from an hour on: %v (%v), want none", got, err)
		}
	})
}
