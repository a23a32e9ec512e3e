package portals

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/ferrybridge/ferry/bridge/network"
	"github.com/ferrybridge/ferry/database"
	"github.com/ferrybridge/ferry/puppets"
)

// outageScene is memberScene for an outage that lasts, with the durable
// path storing at once and no portal goroutine started: the test plays
// the portal's goroutine.
func outageScene(t *testing.T, db *database.Database) (context.Context, *Portal, *network.Login) {
	t.Helper()
	setForTest(t, &ResumeAfterOutage, time.Hour) // the outage lasts
	setForTest(t, &StoreBehind, 0)               // the durable path stores at once
	ctx, p, _, login := memberScene(t, db)
	stopResumeTimerAtEnd(t, p)
	p.m.lock.Lock()
	p.m.stopped = true
	p.m.lock.Unlock()
	return ctx, p, login
}

// storeMeanwhileAndLeave stores "2 stored meanwhile" and "3 stored
// meanwhile" through the durable path, then has the network stop waiting
// for the outcome of the event wait is for.
func storeMeanwhileAndLeave(t *testing.T, ctx context.Context, p *Portal, login *network.Login, wait *RemoteWait) {
	t.Helper()
	for _, id := range []network.MessageID{"2 stored meanwhile", "3 stored meanwhile"} {
		if err := p.m.QueueDurable(ctx, login, textFrom(p, "bob", id)); err != nil {
			t.Fatal(err)
		}
	}
	if _, came := wait.Leave(); came {
		t.Fatal("the scene needs the network gone before the outcome")
	}
}

// keptAheadScene is outageScene with "1 in memory, sent ahead" sent ahead
// (goAhead) while the homeserver is away for the whole of RetryFor, the
// two events of storeMeanwhileAndLeave stored meanwhile, and the tails
// settled: the event sent ahead is kept, stored last by its tail.
func keptAheadScene(t *testing.T, db *database.Database) (context.Context, *Portal) {
	t.Helper()
	ctx, p, login := outageScene(t, db)
	first := textFrom(p, "bob", "1 in memory, sent ahead")
	wait, err := p.m.QueueRemote(ctx, login, first)
	if err != nil {
		t.Fatal(err)
	}
	item := <-p.queue
	release := make(chan struct{})
	p.goAhead(ctx, item, remoteFlightKey(first.ID), "", func() error {
		<-release // the homeserver is away for the whole of RetryFor
		return fmt.Errorf("send message: %w", puppets.ErrUnreachable)
	})
	storeMeanwhileAndLeave(t, ctx, p, login, wait)
	close(release)
	p.settle()
	if !p.durable.stalled.Load() {
		t.Fatal("the event sent ahead was not kept for the homeserver")
	}
	return ctx, p
}

// passQueued plays the portal's goroutine passing over the stored events
// queued to it while the backlog is held.
func passQueued(p *Portal) {
	for len(p.queue) > 0 {
		<-p.queue
	}
}

// wantKeptInPlace checks that the events of keptAheadScene are stored in
// the order they came, after what, and that none is still counted as
// waiting in memory.
func wantKeptInPlace(t *testing.T, db *database.Database, p *Portal, after string) {
	t.Helper()
	want := []network.MessageID{"1 in memory, sent ahead", "2 stored meanwhile", "3 stored meanwhile"}
	if got := storedMessageIDs(t, db); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("stored through %s: %q; want %q, the order they came in", after, got, want)
	}
	if n := p.durable.inMemory.Load(); n != 0 {
		t.Errorf("%d events still counted as waiting in memory, want 0", n)
	}
}
