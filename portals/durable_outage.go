package portals

import (
	"context"
	"errors"
	"time"

	"github.com/ferrybridge/ferry/bridge/network"
	"github.com/ferrybridge/ferry/database"
	"github.com/ferrybridge/ferry/puppets"
)

// A homeserver outage longer than the gateway's retries. puppets.Matrix
// retries a send for up to RetryFor while the homeserver cannot be
// reached, then gives up with puppets.ErrUnreachable. The event was not
// refused, so it is not lost: it stays in the durable queue (stored now
// if it was handed over unstored), the portal takes no more stored
// events for the moment (they wait in the store behind it, in order),
// and ResumeAfterOutage later the portal's drain starts again from it.
// That repeats until the homeserver takes it or refuses it. An event
// handed over in memory to a network that waits for it through
// Host.HandleEvent is not kept: its network hears the failure and
// delivers it again. If its network stopped waiting, it is stored now and
// kept (keepUnheard). One that could not be kept (lazy media, or its
// store failed) and that no network hears of is lost, and reported once
// the homeserver is back (durable_outage_lost.go).

// ResumeAfterOutage is how long a portal waits, after its homeserver
// could not be reached for the whole of RetryFor, before it tries its
// stored events again.
var ResumeAfterOutage = time.Minute

// keepUntilReachable keeps item's event in the durable queue when err
// says the homeserver could not be reached, holds the backlog behind it
// and arms its resumption; it reports whether it kept it. Called as item
// completes, on the portal's goroutine or a tail.
func (p *Portal) keepUntilReachable(ctx context.Context, item *queueItem, err error) bool {
	if ctx.Err() != nil || !errors.Is(err, puppets.ErrUnreachable) {
		return false
	}
	p.durable.lock.Lock()
	defer p.durable.lock.Unlock()
	if be := item.behind; be != nil {
		be.timer.Stop()
		// Stored with every event handed over before and after it, so
		// that they all wait in the store in the order they came.
		p.storeBehindLocked(context.WithoutCancel(ctx), nil)
		if be.listed {
			return false // it could not be stored; it fails as before
		}
	}
	seq := item.storedSeq()
	if seq == 0 {
		return false
	}
	p.durable.backlog.Store(true)
	if !p.durable.stalled.Load() || seq-1 < p.durable.resumeFrom {
		p.durable.resumeFrom = seq - 1
	}
	p.durable.stalled.Store(true)
	// The events networks wait for behind it (durable_waiting.go) are
	// as safe in the store as one handed over during the stall, which
	// hears so at once: so do they, rather than wait out the outage.
	for seq, waiter := range p.durable.waiters {
		waiter <- nil
		delete(p.durable.waiters, seq)
	}
	if p.durable.resumeTimer == nil {
		p.durable.resumeTimer = time.AfterFunc(ResumeAfterOutage, p.resumeLater)
	}
	return true
}

// resumeLater lets the portal's drain start again.
func (p *Portal) resumeLater() {
	p.durable.lock.Lock()
	p.durable.resumeDue = true
	p.durable.resumeTimer = nil
	p.durable.lock.Unlock()
	p.wake()
}

// resumeIfDue reports whether the drain may go on: the backlog is not
// held, or its time to be tried again has come. Then the drain starts
// from the first event kept; those after it that were bridged meanwhile
// (sent ahead before it failed) are gone from the store. Called on the
// portal's goroutine once the tails have settled, so lastSeq is still.
func (p *Portal) resumeIfDue() bool {
	if !p.durable.stalled.Load() {
		return true
	}
	p.durable.lock.Lock()
	defer p.durable.lock.Unlock()
	if !p.durable.resumeDue {
		return false
	}
	p.durable.resumeDue = false
	p.durable.stalled.Store(false)
	p.resumePipeline()
	if p.durable.lastSeq.Load() > p.durable.resumeFrom {
		p.durable.lastSeq.Store(p.durable.resumeFrom)
	}
	p.log.Info().Int64("after_seq", p.durable.resumeFrom).Msg("Trying the events kept through a homeserver outage again")
	return true
}

// heldBehindOutage reports whether item is a remote event that must wait
// in the store because one before it could not be sent (a tail may have
// found that out while item waited). A network waiting for it hears that
// it is safe.
//
// One handed over in memory (a network waits for it, and it came while
// the portal had no backlog) is stored behind the backlog now: the event
// kept there came before it. Going first, an edit of that event found no
// target, was ignored, and was acknowledged.
func (p *Portal) heldBehindOutage(ctx context.Context, item *queueItem) bool {
	if item.remote == nil || !p.durable.stalled.Load() {
		return false
	}
	if item.storedSeq() == 0 && !p.storeInMemory(ctx, item, "Failed to store a remote event behind the backlog held for the homeserver; it is sent ahead of the backlog") {
		return false
	}
	item.tell(nil)
	p.tookInMemory(item)
	// Stored, it stands for any earlier hand-over of the same event
	// noted as lost (lost_notes.go).
	p.settleHandover(item, true)
	return true
}

// keepUnheard keeps item's event, handed over in memory to a network that
// stopped waiting before the homeserver could not take it, as an event
// of the durable path is kept: stored, and the backlog held behind it,
// rather than noted as lost. It reports whether it did; an event
// carrying lazy media cannot be stored. Another hand-over of the same
// event (WhatsApp retries its hand-overs) bridged meanwhile, or after,
// makes the stored copy one the portal recognises as bridged already
// (remote_to_matrix.go): it is not bridged twice.
func (p *Portal) keepUnheard(ctx context.Context, item *queueItem, err error) bool {
	if item.wait == nil || item.storedSeq() != 0 {
		return false
	}
	if !p.storeInMemory(ctx, item, "Failed to store a remote event the homeserver could not take and its network no longer waited for") {
		return false
	}
	// Stored, it is kept even if the stall is not held (the bridge
	// stopped meanwhile): the next start bridges it.
	p.keepUntilReachable(ctx, item, err)
	if item.misplaced {
		// Stored last by a tail: the portal's goroutine puts it in its
		// place once the tails have settled.
		p.wake()
	}
	return true
}

// storeInMemory stores item, handed over in memory, in the durable queue,
// in its order where it can (durable_outage_order.go), else last, to be
// put in its place once the tails have settled (durable_outage_place.go),
// and reports whether it did; item.seq is its place in the store.
// failed is what the log says when the store fails: the caller knows why
// it stores the event and what becomes of it. One handed over unstored to
// be stored behind (item.behind) was stored with the event kept, or
// could not be; one carrying lazy media cannot be stored. Both go on as
// before.
func (p *Portal) storeInMemory(ctx context.Context, item *queueItem, failed string) bool {
	if item.behind != nil {
		return false
	}
	if p.storeInArrivalOrder(ctx, item) {
		return true
	}
	payload, err := network.MarshalEvent(item.remote)
	if err != nil {
		return false
	}
	row := &database.RemoteEvent{Portal: p.Key, Login: item.login.ID, ReceivedAt: time.Now(), Payload: payload}
	p.durable.lock.Lock()
	defer p.durable.lock.Unlock()
	if err = p.storeLocked(ctx, item.remote, row, item.arrival); err != nil {
		l := p.remoteLog(item)
		l.Err(err).Msg(failed)
		return false
	}
	item.seq = row.Seq
	// Stored last, it is put in its place once the tails have settled.
	p.noteMisplacedLocked(item)
	return true
}
