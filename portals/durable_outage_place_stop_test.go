package portals

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/ferrybridge/ferry/bridge/network"
	"github.com/ferrybridge/ferry/database"
	"github.com/ferrybridge/ferry/internal/dbtest"
	"github.com/ferrybridge/ferry/puppets"
)

// An event sent ahead and kept through an outage is stored last by its
// tail and put in its place by the portal's goroutine (placeKept, in
// drainBacklog). When the stop's cancel lands as the goroutine does that,
// the store refuses the move for the ended context; the event must then
// be put in its place by the stop (keepQueued), not left stored last,
// to be bridged at the next start after the events that came after it.
func TestEventKeptThroughAnOutageTakesItsPlaceWhenTheStopCutsTheMoveShort(t *testing.T) {
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
		for len(p.queue) > 0 {
			<-p.queue // stored events, passed over while the backlog is held
		}

		// The goroutine's move, as the stop's cancel ends its context.
		stopped, cancel := context.WithCancel(ctx)
		cancel()
		p.placeKept(stopped)
		// The stop, once the goroutine has ended.
		p.keepQueued(ctx)

		want := []network.MessageID{"1 in memory, sent ahead", "2 stored meanwhile", "3 stored meanwhile"}
		if got := storedMessageIDs(t, db); fmt.Sprint(got) != fmt.Sprint(want) {
			t.Fatalf("stored through the outage and the stop: %q; want %q, the order they came in", got, want)
		}
		if n := p.durable.inMemory.Load(); n != 0 {
			t.Errorf("%d events still counted as waiting in memory, want 0", n)
		}
	})
}
