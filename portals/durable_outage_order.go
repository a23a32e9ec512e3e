package portals

import "context"

// The order of an event handed over in memory that is stored in an
// outage: one whose network stopped waiting (keepUnheard), or one that
// waited in the portal's queue (heldBehindOutage). The first was tried
// for as long as RetryFor while the homeserver could not be reached, and
// its network (WhatsApp, after handleTimeout) stopped waiting long
// before; the second waited behind it. The events handed over through
// the durable path meanwhile (a WhatsApp group's membership changes,
// chat info and receipts) were stored as they came. Stored last, behind
// them, an event that came first was bridged after them once the
// homeserver was back: a receipt of a message before the message, the
// member who left before their last word. So it is stored in its place,
// with those stored after it came moved behind it, as the stop stores
// the events left queued (durable_stop_queued.go).

// storeInArrivalOrder stores item, handed over in memory, in the order
// it came among the stored events, and reports whether it did; item.seq
// is its place in the store, and it counts as waiting. It does so only
// on the portal's goroutine with nothing sent ahead: no stored event is
// in hand then with its former place, and the stored events queued to
// the portal, which carry theirs, are passed over while the backlog is
// held (Portal.run), as it is behind item (keepUnheard) or before it
// (heldBehindOutage). Otherwise it stores nothing, and the caller stores
// item last, to be put in its place once the tails have settled
// (durable_outage_place.go).
func (p *Portal) storeInArrivalOrder(ctx context.Context, item *queueItem) bool {
	if item.behind != nil || !item.counted || p.ahead.n.Load() != 0 {
		return false
	}
	p.durable.lock.Lock()
	defer p.durable.lock.Unlock()
	// Those handed over unstored came before it.
	p.storeBehindLocked(ctx, nil)
	if !p.storeInOrderLocked(ctx, []*queueItem{item})[item] {
		return false
	}
	p.timeStored(item.remote)
	p.durable.pending.Add(1)
	return true
}
