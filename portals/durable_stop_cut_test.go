package portals

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/ferrybridge/ferry/database"
	"github.com/ferrybridge/ferry/internal/dbtest"
)

// The event a portal is bridging when Ferry stops fails on the stop's
// cancel. A stored one stays stored and the next start bridges it; one
// handed over in memory whose network no longer waited for it (WhatsApp
// acknowledges edits, reactions and deletions it gave up waiting for,
// trusting the core) was neither stored nor reported: lost without a
// word. The stop stores it now, before the events that came after it.
func TestEventCutShortByTheStopIsStored(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *database.Database) {
		setForTest(t, &StoreBehind, time.Hour)
		ctx, p, _, login := memberScene(t, db)
		m := p.m
		// No goroutine starts: the test plays the portal's part.
		m.lock.Lock()
		m.stopped = true
		m.lock.Unlock()
		wait, err := m.QueueRemote(ctx, login, textFrom(p, "bob", "1 being sent"))
		if err != nil {
			t.Fatal(err)
		}
		item := <-p.queue // the portal takes it and sends it
		if _, came := wait.Leave(); came {
			t.Fatal("the scene needs the network gone before the outcome")
		}
		// Stored as it comes, the portal being busy.
		if err = m.QueueDurable(ctx, login, textFrom(p, "bob", "2 stored")); err != nil {
			t.Fatal(err)
		}

		m.cancel() // the stop's first step ends the send
		p.complete(m.ctx, item, fmt.Errorf("send message: %w", context.Canceled))
		m.Stop()
		got := storedMessageIDs(t, db)
		if len(got) != 2 || got[0] != "1 being sent" || got[1] != "2 stored" {
			t.Errorf("stored after the stop: %q; want the event cut short, then the one after it", got)
		}
		if lost := p.durable.lost.Load() + p.durable.lostNotes.n.Load(); lost != 0 {
			t.Errorf("%d events noted as lost; want none, the event kept", lost)
		}
	})
}
