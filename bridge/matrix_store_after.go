package bridge

import (
	"context"
	"sync"
	"sync/atomic"
	"time"

	"maunium.net/go/mautrix/event"
	"maunium.net/go/mautrix/id"

	"github.com/ferrybridge/ferry/bridge/metrics"
	"github.com/ferrybridge/ferry/database"
)

// Storing after routing. Ferry answers a homeserver transaction only once
// its events are stored, so that none is lost if Ferry stops before it is
// handled. Storing them before routing them put a database write on every
// message's way to the network: the largest part of Ferry's own latency
// from Matrix, and where most slow messages lost their time waiting for a
// processor. So a transaction's new events are routed first, and stored
// once each has left (its first line written to the network, or queued
// behind other work of its portal, or handled), or after StoreAfterWait;
// only then is the transaction answered. What that changes:
//   - a crash between a message's first line and its store makes the
//     homeserver deliver it again after the restart, and it is sent
//     twice; the window is the store's time, below a millisecond;
//   - a store that fails leaves its routed events in Bridge.unstored, so
//     that the homeserver's retry stores them without routing them again;
//   - an event handled before it is stored is marked handled right after
//     its store (earlyStored), so the next start does not replay it.
//
// A redelivered event (one already stored) is found by one read before
// anything is routed, and skipped.
//
// Bridge.unstored holds at most MaxUnstoredEvents. While the database
// keeps failing, a homeserver's retries bring new events (Dendrite
// refills a retried batch), each routed and kept; and one the homeserver
// never sends again would stay for ever. Past the bound, a new event is
// routed only once stored, as with StoreAfterWait 0: a store that fails
// then refuses the transaction with nothing of it routed, and the
// homeserver, which must retry a transaction it was not answered, brings
// the events again. Nothing is lost, and nothing sent twice.

// StoreAfterWait is how long a transaction waits, at most, for its events
// to leave before it stores them; 0 stores them before routing them.
var StoreAfterWait = 10 * time.Millisecond

// MaxUnstoredEvents bounds the events routed before a store that failed
// (Bridge.unstored); a few homeserver transactions' worth.
var MaxUnstoredEvents = 1000

// inbound is a Matrix event on its way to the dispatcher.
type inbound struct {
	qe *database.QueuedEvent
	// early is set when the event was routed before it was stored.
	early *earlyEvent
}

// earlyEvent follows an event routed before it was stored.
type earlyEvent struct {
	left      chan struct{} // closed when the event has left (see MatrixHooks.Left)
	leaveOnce sync.Once
	mu        sync.Mutex
	stored    bool // its insert committed
	handled   bool // its handling ended
}

func (e *earlyEvent) leave() { e.leaveOnce.Do(func() { close(e.left) }) }

// acceptEvents stores a transaction's events and hands the new ones to
// the dispatcher, in the order given. An error means the transaction must
// not be acknowledged: the homeserver will deliver it again.
func (b *Bridge) acceptEvents(ctx context.Context, evts []*database.QueuedEvent, received time.Time) (int, error) {
	// Transactions one at a time, as homeservers send them: the order in
	// which events are routed must be the order in which they are stored.
	b.txnLock.Lock()
	defer b.txnLock.Unlock()
	if StoreAfterWait <= 0 {
		return b.storeThenRoute(ctx, evts, received)
	}
	ids := make([]id.EventID, len(evts))
	for i, qe := range evts {
		ids[i] = qe.EventID
	}
	already, err := b.DB.MatrixEvents.Stored(ctx, ids)
	if err != nil {
		return 0, err
	}
	toStore := make([]*database.QueuedEvent, 0, len(evts))
	routed := make([]*earlyEvent, 0, len(evts))
	// storeFirst are routed once stored: past MaxUnstoredEvents. Once one
	// is, so are those after it, which keeps the transaction's order.
	storeFirst := make(map[id.EventID]bool)
	for _, qe := range evts {
		if already[qe.EventID] {
			continue // delivered again; handled already, or replayed from the store
		}
		toStore = append(toStore, qe)
		if b.unstored[qe.EventID] != nil {
			continue // routed by an earlier delivery whose store failed
		}
		if len(storeFirst) > 0 || len(b.unstored) >= MaxUnstoredEvents {
			storeFirst[qe.EventID] = true
			continue
		}
		e := &earlyEvent{left: make(chan struct{})}
		b.unstored[qe.EventID] = e
		// A copy: Enqueue sets the stored one's fields while the copy is
		// handled.
		cp := *qe
		select {
		case b.events <- inbound{qe: &cp, early: e}:
			routed = append(routed, e)
		case <-b.ctx.Done():
			// Not routed: stored below, the next start replays it.
		}
	}
	waitLeft(routed, StoreAfterWait)
	fresh, err := b.store(ctx, toStore, received)
	if err != nil {
		return 0, err
	}
	for _, qe := range toStore {
		if e := b.unstored[qe.EventID]; e != nil {
			delete(b.unstored, qe.EventID)
			b.earlyStored(e, qe.EventID)
		}
	}
	if len(storeFirst) > 0 {
		later := make([]*database.QueuedEvent, 0, len(storeFirst))
		for _, qe := range fresh {
			if storeFirst[qe.EventID] {
				later = append(later, qe)
			}
		}
		b.routeStored(later, received)
	}
	return len(fresh), nil
}

// storeThenRoute is acceptEvents with StoreAfterWait 0: the events are
// stored before anything is routed.
func (b *Bridge) storeThenRoute(ctx context.Context, evts []*database.QueuedEvent, received time.Time) (int, error) {
	fresh, err := b.store(ctx, evts, received)
	if err != nil {
		return 0, err
	}
	n := len(fresh)
	b.routeStored(fresh, received)
	return n, nil
}

// routeStored hands events just stored to the dispatcher, in order.
func (b *Bridge) routeStored(stored []*database.QueuedEvent, received time.Time) {
	for _, evt := range stored {
		// The store keeps milliseconds; the copy handled now keeps the
		// exact time, which the metrics time Ferry's share from.
		evt.ReceivedAt = received
		select {
		case b.events <- inbound{qe: evt}:
		case <-b.ctx.Done():
			// Stored; the next start replays it.
		}
	}
}

// store stores evts and returns those new to the store, timing the store
// from the transaction received.
func (b *Bridge) store(ctx context.Context, evts []*database.QueuedEvent, received time.Time) ([]*database.QueuedEvent, error) {
	fresh, err := b.DB.MatrixEvents.Enqueue(ctx, evts)
	if err != nil {
		return nil, err
	}
	if len(fresh) > 0 {
		b.Metrics.ObserveSince(metrics.StageKey{Direction: metrics.MatrixToRemote, Stage: metrics.StageStore}, received, time.Now())
	}
	return fresh, nil
}

// waitLeft waits until every event in routed has left, or for at most
// wait.
func waitLeft(routed []*earlyEvent, wait time.Duration) {
	if len(routed) == 0 {
		return
	}
	timer := time.NewTimer(wait)
	defer timer.Stop()
	for _, e := range routed {
		select {
		case <-e.left:
		case <-timer.C:
			return
		}
	}
}

// earlyStored and earlyHandled each record their half; whichever comes
// second marks the event handled, so that exactly one of them does.
func (b *Bridge) earlyStored(e *earlyEvent, evtID id.EventID) {
	e.mu.Lock()
	e.stored = true
	handled := e.handled
	e.mu.Unlock()
	if handled {
		b.markHandled(evtID)
	}
}

func (b *Bridge) earlyHandled(e *earlyEvent, evtID id.EventID) {
	e.mu.Lock()
	e.handled = true
	stored := e.stored
	e.mu.Unlock()
	// Only now: a store that waited for this sees the event handled.
	e.leave()
	if stored {
		b.markHandled(evtID)
	}
}

// markHandledWait bounds the marking of an event handled once Stop has
// begun, which Stop waits for.
const markHandledWait = 5 * time.Second

// markHandled records evtID handled (its body emptied if it held a
// secret). Not on the bridge's context: Stop cancels that before it waits
// for the events being handled, and an event handled then, its mark
// failed, was replayed at the next start. A login's answer replayed with
// no login left asking was shown back as an unknown command ("Unknown
// command `hunter2`"), its stored body never emptied.
func (b *Bridge) markHandled(evtID id.EventID) {
	mark := b.DB.MatrixEvents.MarkHandled
	if _, secret := b.secretEvents.LoadAndDelete(evtID); secret {
		mark = b.DB.MatrixEvents.MarkHandledAndScrub
	}
	ctx, cancel := b.markContext()
	defer cancel()
	if err := mark(ctx, evtID); err != nil {
		b.Log.Err(err).Stringer("event_id", evtID).Msg("Failed to mark event handled")
	}
}

// markContext is the context of a handled mark: not cancelled with the
// bridge's, and given up only markHandledWait after Stop began. Bounded
// while Ferry ran, a mark the database held longer (a lock, a failover)
// failed, and the next start replayed the event: a command run twice, a
// message sent twice.
func (b *Bridge) markContext() (context.Context, context.CancelFunc) {
	ctx, cancel := context.WithCancel(context.WithoutCancel(b.ctx))
	stopping := context.AfterFunc(b.ctx, func() { time.AfterFunc(markHandledWait, cancel) })
	return ctx, func() {
		stopping()
		cancel()
	}
}

// handledHookFn, set by tests, is called with each event a room's queue
// handled, before it is marked handled.
var handledHookFn atomic.Pointer[func(evt *event.Event)]

func handledHook(evt *event.Event) {
	if fn := handledHookFn.Load(); fn != nil {
		(*fn)(evt)
	}
}

// holdsSecret marks an event whose body is a secret (a password for a
// login, a sensitive command): when it is marked handled, its stored body
// is emptied. Done there, not at once, because an event routed before its
// store (matrix_store_after.go) may be stored after its handler ran, and
// it is marked handled only once it is both stored and handled.
// An edit of it holds the secret as well (command_edits.go).
func (b *Bridge) holdsSecret(evtID id.EventID) {
	b.secretEvents.Store(evtID, struct{}{})
	b.edits.hold(evtID, false, true)
}
