package portals

import (
	"fmt"
	"testing"
	"time"

	"github.com/ferrybridge/ferry/database"
	"github.com/ferrybridge/ferry/internal/dbtest"
	"github.com/ferrybridge/ferry/puppets"
)

// An event handed over in memory (QueueRemote) whose network stopped
// waiting (WhatsApp's handler gave up on it, ErrStillQueued) and which
// then failed because the homeserver could not be reached was noted as
// lost and reported in the room, although it could be stored as the
// durable path stores the events it keeps. It is kept now: stored, the
// backlog held behind it, and bridged once the homeserver is back.
func TestEventItsNetworkLeftIsKeptThroughAnOutage(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *database.Database) {
		setForTest(t, &ResumeAfterOutage, time.Hour) // the outage lasts
		ctx, p, _, login := memberScene(t, db)
		stopResumeTimerAtEnd(t, p)
		item := &queueItem{remote: textFrom(p, "bob", "left"), login: login, wait: newRemoteWait()}
		p.startHandover(item)
		if _, came := item.wait.Leave(); came {
			t.Fatal("the scene needs the network gone before the outcome")
		}

		p.complete(ctx, item, fmt.Errorf("send message: %w", puppets.ErrUnreachable))
		if got := storedMessageIDs(t, db); len(got) != 1 || got[0] != "left" {
			t.Fatalf("stored after the failure: %q; want the event its network left", got)
		}
		if !p.durable.stalled.Load() || !p.durable.backlog.Load() {
			t.Error("the backlog is not held behind the kept event until the homeserver is back")
		}
		if n := p.durable.pending.Load(); n != 1 {
			t.Errorf("%d events counted as waiting, want the kept one", n)
		}
		p.durable.lock.Lock()
		reportArmed := p.durable.lostTimer != nil
		p.durable.lock.Unlock()
		if lost := p.durable.lost.Load() + p.durable.lostNotes.n.Load(); lost != 0 || reportArmed {
			t.Errorf("%d events noted as lost (report armed: %v); want none, the event kept", lost, reportArmed)
		}
	})
}
