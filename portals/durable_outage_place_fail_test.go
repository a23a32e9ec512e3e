package portals

import (
	"testing"

	"github.com/ferrybridge/ferry/database"
	"github.com/ferrybridge/ferry/internal/dbtest"
)

// An event sent ahead and kept through an outage is stored last by its
// tail and put in its place by the portal's goroutine (placeKept, at the
// top of each drain). When the store fails as it does that (the database
// restarting), the move was given up for good: the event stayed stored
// last, and was bridged after the events that came after it, the order
// wrong with nothing but a line in the log. It must stay to be moved, and
// the drain's next round (retryDrainLater) move it once the store is back.
func TestEventKeptThroughAnOutageTakesItsPlaceAfterTheStoreFailedForAMoment(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *database.Database) {
		ctx, p := keptAheadScene(t, db)
		passQueued(p)
		defer p.drainReadOK() // the retry's timer

		if _, err := db.Exec(ctx, "ALTER TABLE remote_event RENAME TO remote_event_away"); err != nil {
			t.Fatal(err)
		}
		p.drainBacklog(ctx) // the move fails
		if _, err := db.Exec(ctx, "ALTER TABLE remote_event_away RENAME TO remote_event"); err != nil {
			t.Fatal(err)
		}
		if p.durable.drainTimer == nil {
			t.Errorf("the drain is not tried again after the move failed")
		}
		p.drainBacklog(ctx) // the retry's round

		wantKeptInPlace(t, db, p, "the outage and a failed move")
	})
}
