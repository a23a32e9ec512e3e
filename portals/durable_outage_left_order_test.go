package portals

import (
	"fmt"
	"testing"

	"github.com/ferrybridge/ferry/bridge/network"
	"github.com/ferrybridge/ferry/database"
	"github.com/ferrybridge/ferry/internal/dbtest"
	"github.com/ferrybridge/ferry/puppets"
)

// An event a network handed over in memory (WhatsApp's message) is tried
// for as long as RetryFor while the homeserver cannot be reached, and the
// events handed over through the durable path meanwhile (WhatsApp's
// membership changes, chat info and receipts) are stored as they come.
// When its network has stopped waiting it is kept (keepUnheard), but it
// was stored last, behind all of them: once the homeserver was back, the
// message that came first was bridged after the events that followed it
// (a receipt of it before it). It must be stored in the order it came.
func TestEventItsNetworkLeftIsKeptInItsOrder(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *database.Database) {
		ctx, p, login := outageScene(t, db)
		m := p.m

		wait, err := m.QueueRemote(ctx, login, textFrom(p, "bob", "1 in memory"))
		if err != nil {
			t.Fatal(err)
		}
		item := <-p.queue // taken by the portal, tried while the homeserver is away
		storeMeanwhileAndLeave(t, ctx, p, login, wait)
		p.complete(ctx, item, fmt.Errorf("send message: %w", puppets.ErrUnreachable))

		want := []network.MessageID{"1 in memory", "2 stored meanwhile", "3 stored meanwhile"}
		got := storedMessageIDs(t, db)
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Fatalf("stored after the failure: %q; want %q, the order they came in", got, want)
		}
		if n := p.durable.pending.Load(); n != 3 {
			t.Errorf("%d events counted as waiting, want 3", n)
		}
		if !p.durable.stalled.Load() || p.durable.resumeFrom >= item.storedSeq() {
			t.Errorf("the backlog is not held from the kept event (resume after %d, its seq %d)", p.durable.resumeFrom, item.storedSeq())
		}
	})
}

// An event handed over in memory that waited in the portal's queue while
// the homeserver could not be reached is stored once the backlog is held
// (heldBehindOutage). It was stored last, behind the events handed over
// through the durable path after it came: the same disorder as above.
func TestEventWaitingInMemoryIsStoredInItsOrderBehindAnOutage(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *database.Database) {
		ctx, p, login := outageScene(t, db)
		m := p.m

		wait, err := m.QueueRemote(ctx, login, textFrom(p, "bob", "1 in memory, sent"))
		if err != nil {
			t.Fatal(err)
		}
		first := <-p.queue
		if _, err = m.QueueRemote(ctx, login, textFrom(p, "bob", "2 in memory, queued")); err != nil {
			t.Fatal(err)
		}
		if err = m.QueueDurable(ctx, login, textFrom(p, "bob", "3 stored meanwhile")); err != nil {
			t.Fatal(err)
		}
		if _, came := wait.Leave(); came {
			t.Fatal("the scene needs the network gone before the outcome")
		}
		p.complete(ctx, first, fmt.Errorf("send message: %w", puppets.ErrUnreachable))
		second := <-p.queue
		if !p.heldBehindOutage(ctx, second) {
			t.Fatal("the event queued in memory is not held behind the outage")
		}

		want := []network.MessageID{"1 in memory, sent", "2 in memory, queued", "3 stored meanwhile"}
		if got := storedMessageIDs(t, db); fmt.Sprint(got) != fmt.Sprint(want) {
			t.Fatalf("stored behind the outage: %q; want %q, the order they came in", got, want)
		}
	})
}
