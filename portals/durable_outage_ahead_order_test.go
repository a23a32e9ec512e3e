package portals

import (
	"testing"

	"github.com/ferrybridge/ferry/database"
	"github.com/ferrybridge/ferry/internal/dbtest"
)

// A plain message a network handed over in memory goes ahead: its send is
// written to the room's pipeline and a tail waits for the answer
// (ahead.go). When the homeserver cannot be reached for the whole of
// RetryFor and its network has stopped waiting, the tail keeps it
// (keepUnheard), but a tail may not move stored rows (other tails may
// hold theirs by their places), so it was stored last: behind the events
// handed over through the durable path meanwhile, and bridged after them
// once the homeserver was back. The portal's goroutine must put it in
// its place once the tails have settled, before the backlog is tried
// again.
func TestEventSentAheadAndKeptThroughAnOutageTakesItsPlace(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *database.Database) {
		ctx, p := keptAheadScene(t, db)

		// The portal's goroutine's next round: the stored events queued
		// to it are passed over while the backlog is held, then it
		// looks at its backlog.
		for len(p.queue) > 0 {
			if queued := <-p.queue; queued.storedSeq() == 0 {
				t.Fatalf("an unstored item %T is queued", queued.remote)
			}
		}
		p.drainBacklog(ctx)

		wantKeptInPlace(t, db, p, "the outage")
		if n := p.durable.pending.Load(); n != 3 {
			t.Errorf("%d events counted as waiting, want 3", n)
		}
		rows, err := db.RemoteEvents.Pending(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if p.durable.resumeFrom >= rows[0].Seq {
			t.Errorf("the backlog resumes after %d, past the kept event (now %d)", p.durable.resumeFrom, rows[0].Seq)
		}
	})
}
