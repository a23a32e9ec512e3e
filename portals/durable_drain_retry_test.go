package portals

import (
	"strings"
	"testing"
	"time"

	"github.com/ferrybridge/ferry/database"
	"github.com/ferrybridge/ferry/internal/dbtest"
)

// A portal whose backlog cannot be read for a moment (the database
// restarting) tries again soon, by itself: no new event need come to
// wake it, nor its idle timer, minutes away.
func TestBacklogIsDrainedAfterTheStoreFailedForAMoment(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *database.Database) {
		ctx, p, dir, login := roomlessScene(t, db)
		// An event Ferry cannot read back: handling it tells alice in her
		// management room, which shows that the drain reached it.
		row := &database.RemoteEvent{Portal: p.Key, Login: login.ID, ReceivedAt: time.Now(), Payload: []byte(`{"type":"from_a_later_ferry"}`)}
		if err := db.RemoteEvents.Insert(ctx, row); err != nil {
			t.Fatal(err)
		}
		p.durable.lock.Lock()
		p.durable.pending.Add(1)
		p.durable.backlog.Store(true)
		p.durable.lock.Unlock()

		if _, err := db.Exec(ctx, "ALTER TABLE remote_event RENAME TO remote_event_away"); err != nil {
			t.Fatal(err)
		}
		p.wake()
		time.Sleep(500 * time.Millisecond) // the drain fails meanwhile
		if got := dir.noticesOf(login.User); len(got) != 0 {
			t.Fatalf("alice was told %q while the store could not be read", got)
		}
		if _, err := db.Exec(ctx, "ALTER TABLE remote_event_away RENAME TO remote_event"); err != nil {
			t.Fatal(err)
		}

		deadline := time.Now().Add(5 * time.Second)
		for len(dir.noticesOf(login.User)) == 0 && time.Now().Before(deadline) {
			time.Sleep(20 * time.Millisecond)
		}
		got := dir.noticesOf(login.User)
		if len(got) != 1 || !strings.Contains(got[0], "could not read it back") {
			t.Fatalf("alice was told %q within 5 s of the store coming back; want the stored event drained (reported unreadable)", got)
		}
		if rows, err := db.RemoteEvents.Pending(ctx); err != nil || len(rows) != 0 {
			t.Errorf("%d events left stored (%v), want the drained one gone", len(rows), err)
		}
	})
}
