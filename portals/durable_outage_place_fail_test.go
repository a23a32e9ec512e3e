package portals

import (
	"fmt"
	"testing"

	"github.com/ferrybridge/ferry/bridge/network"
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
		for len(p.queue) > 0 {
			<-p.queue // stored events, passed over while the backlog is held
		}
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

		want := []network.MessageID{"1 in memory, sent ahead", "2 stored meanwhile", "3 stored meanwhile"}
		if got := storedMessageIDs(t, db); fmt.Sprint(got) != fmt.Sprint(want) {
			t.Fatalf("stored through the outage and a failed move: %q; want %q, the order they came in", got, want)
		}
		if n := p.durable.inMemory.Load(); n != 0 {
			t.Errorf("%d events still counted as waiting in memory, want 0", n)
		}
	})
}
