package portals

import (
	"fmt"
	"testing"
	"time"

	"github.com/ferrybridge/ferry/bridge/network"
	"github.com/ferrybridge/ferry/database"
	"github.com/ferrybridge/ferry/internal/dbtest"
	"github.com/ferrybridge/ferry/puppets"
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
		setForTest(t, &ResumeAfterOutage, time.Hour) // the outage lasts
		setForTest(t, &StoreBehind, 0)               // the durable path stores at once
		ctx, p, _, login := memberScene(t, db)
		stopResumeTimerAtEnd(t, p)
		m := p.m
		// No goroutine starts: the test is the portal's goroutine.
		m.lock.Lock()
		m.stopped = true
		m.lock.Unlock()

		first := textFrom(p, "bob", "1 in memory, sent ahead")
		wait, err := m.QueueRemote(ctx, login, first)
		if err != nil {
			t.Fatal(err)
		}
		item := <-p.queue
		release := make(chan struct{})
		p.goAhead(ctx, item, remoteFlightKey(first.ID), "", func() error {
			<-release // the homeserver is away for the whole of RetryFor
			return fmt.Errorf("send message: %w", puppets.ErrUnreachable)
		})
		for _, id := range []network.MessageID{"2 stored meanwhile", "3 stored meanwhile"} {
			if err := m.QueueDurable(ctx, login, textFrom(p, "bob", id)); err != nil {
				t.Fatal(err)
			}
		}
		if _, came := wait.Leave(); came {
			t.Fatal("the scene needs the network gone before the outcome")
		}
		close(release)
		p.settle()
		if !p.durable.stalled.Load() {
			t.Fatal("the event sent ahead was not kept for the homeserver")
		}

		// The portal's goroutine's next round: the stored events queued
		// to it are passed over while the backlog is held, then it
		// looks at its backlog.
		for len(p.queue) > 0 {
			if queued := <-p.queue; queued.storedSeq() == 0 {
				t.Fatalf("an unstored item %T is queued", queued.remote)
			}
		}
		p.drainBacklog(ctx)

		want := []network.MessageID{"1 in memory, sent ahead", "2 stored meanwhile", "3 stored meanwhile"}
		if got := storedMessageIDs(t, db); fmt.Sprint(got) != fmt.Sprint(want) {
			t.Fatalf("stored through the outage: %q; want %q, the order they came in", got, want)
		}
		if n := p.durable.pending.Load(); n != 3 {
			t.Errorf("%d events counted as waiting, want 3", n)
		}
		if n := p.durable.inMemory.Load(); n != 0 {
			t.Errorf("%d events still counted as waiting in memory, want 0", n)
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
