package portals

import (
	"testing"
	"time"

	"github.com/ferrybridge/ferry/bridge/network"
	"github.com/ferrybridge/ferry/database"
	"github.com/ferrybridge/ferry/internal/dbtest"
	"github.com/ferrybridge/ferry/puppets"
)

// A stored event of a login that is stored but not running is passed
// over and counted out, and stays stored for a start that loads the
// login. When an event before it is then kept through an outage (its
// send went ahead, and its tail failed after the drain had passed the
// other), the resume reads both again: the passed event was counted out
// a second time, and the portal's count of waiting events went below
// what waits, loosening MaxPendingPerPortal by one each time. So it was
// if the second reading bridged it, its login started meanwhile.
func TestPassedEventIsCountedOutOnceAcrossAResume(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *database.Database) {
		setForTest(t, &ResumeAfterOutage, time.Hour)
		ctx, p, _, login := memberScene(t, db)
		if err := db.Logins.Put(ctx, &database.Login{Network: "test", ID: "bob", UserMXID: "@bob:example.org"}); err != nil {
			t.Fatal(err)
		}
		stopResumeTimerAtEnd(t, p)
		store := func(login network.LoginID, id network.MessageID) *database.RemoteEvent {
			return storeQueued(t, ctx, db, p, login, textFrom(p, "carol", id))
		}
		kept := store(login.ID, "kept")
		passed := store("bob", "passed")
		p.durable.backlog.Store(true)

		// The drain passes bob's event while alice's is on its way; then
		// alice's fails for want of the homeserver.
		p.handleStored(ctx, passed)
		if n := p.durable.pending.Load(); n != 1 {
			t.Fatalf("%d events counted as waiting after bob's was passed, want alice's", n)
		}
		if !p.keepUntilReachable(ctx, &queueItem{remote: &network.Message{}, login: login, seq: kept.Seq}, puppets.ErrUnreachable) {
			t.Fatal("alice's event was not kept")
		}
		// The resume reads from alice's event again, bob's with it.
		p.durable.lock.Lock()
		p.durable.resumeDue = true
		p.durable.lock.Unlock()
		if !p.resumeIfDue() {
			t.Fatal("the resume was not due")
		}
		rows, err := db.RemoteEvents.ForPortal(ctx, p.Key, p.durable.lastSeq.Load(), backlogBatch)
		if err != nil {
			t.Fatal(err)
		}
		if len(rows) != 2 || rows[1].Seq != passed.Seq {
			t.Fatalf("the resume reads %d events, want alice's and bob's", len(rows))
		}
		p.handleStored(ctx, rows[1])
		if n := p.durable.pending.Load(); n != 1 {
			t.Errorf("%d events counted as waiting after bob's was passed again, want still alice's", n)
		}
		// Had bob's login started meanwhile, his event would have been
		// bridged on the second reading: it is not counted out again.
		p.finishStored(ctx, passed.Seq)
		if n := p.durable.pending.Load(); n != 1 {
			t.Errorf("%d events counted as waiting after bob's passed event was bridged, want still alice's", n)
		}
	})
}
