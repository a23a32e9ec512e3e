package portals

import (
	"context"
	"testing"

	"github.com/ferrybridge/ferry/database"
	"github.com/ferrybridge/ferry/internal/dbtest"
)

// An event sent ahead and kept through an outage is stored last by its
// tail and put in its place by the portal's goroutine (placeKept, in
// drainBacklog). When the stop's cancel lands as the goroutine does that,
// the store refuses the move for the ended context; the event must then
// be put in its place by the stop (keepQueued), not left stored last,
// to be bridged at the next start after the events that came after it.
func TestEventKeptThroughAnOutageTakesItsPlaceWhenTheStopCutsTheMoveShort(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *database.Database) {
		ctx, p := keptAheadScene(t, db)
		passQueued(p)

		// The goroutine's move, as the stop's cancel ends its context.
		stopped, cancel := context.WithCancel(ctx)
		cancel()
		p.placeKept(stopped)
		// The stop, once the goroutine has ended.
		p.keepQueued(ctx)

		wantKeptInPlace(t, db, p, "the outage and the stop")
	})
}
