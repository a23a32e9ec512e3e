package portals

import (
	"cmp"
	"context"
	"fmt"
	"slices"
)

// The place of an event kept by a tail. A plain message handed over in
// memory may go ahead (ahead.go): when the homeserver could not take it
// and its network had stopped waiting, its tail keeps it (keepUnheard).
// A tail cannot store it in its place (storeInArrivalOrder): other tails
// may hold stored events by their places, and would delete the old row
// of one that was moved, leaving its copy to be bridged twice. So the
// tail stores it last and leaves it misplaced, still counted in memory,
// so that the events stored after it came stay noted (storedWhile). The
// portal's goroutine puts it in its place once the tails have settled
// (drainBacklog, before the backlog is tried again; the tail wakes it),
// or the stop does (keepQueued): then no stored event is in hand with its
// place, and none is queued to the portal, since the stall holds the
// backlog and the queue is empty when the drain runs.

// noteMisplacedLocked leaves item, stored last by storeInMemory, to be
// put in its place: only one counted in memory, whose arrival is known.
// The caller holds durable.lock.
func (p *Portal) noteMisplacedLocked(item *queueItem) {
	if !item.counted || item.arrival == 0 {
		return
	}
	item.misplaced = true
	p.durable.misplaced = append(p.durable.misplaced, item)
}

// placeKept puts the kept events stored last by tails in the order they
// came among the stored events: they and the events stored after the
// first of them came are stored again, in one transaction, in arrival
// order. Called on the portal's goroutine once the tails have settled, or
// by the stop once the goroutine has ended.
//
// A move that failed leaves them misplaced, still counted in memory so
// that the events stored after them stay noted, and placeKept says why:
// the drain then bridges nothing (it would bridge them after the events
// that came after them) and is tried again later (retryDrainLater), the
// move first. The database failing (restarting, a lock held too long) is
// what makes a move fail, and it heals; a wrong order does not, once the
// events are bridged. A move the stop cut short (the goroutine's context
// ended as it read or wrote the store) is so left for the stop's own try
// (keepQueued, with a context the stop does not end). Only a failure of
// the stop's try leaves them stored last, for the next start to bridge
// after those events; its log says which.
func (p *Portal) placeKept(ctx context.Context) error {
	p.durable.lock.Lock()
	// Nothing is noted misplaced meanwhile: the tails note under the lock.
	items := p.durable.misplaced
	if len(items) > 0 {
		if err := p.placeKeptLocked(ctx, items); err != nil {
			p.durable.lock.Unlock()
			return err
		}
	}
	p.durable.misplaced = nil
	p.durable.lock.Unlock()
	p.settleMisplaced(items)
	return nil
}

// leaveMisplaced gives up putting the kept events in their places, as
// the stop does once its own try failed with err: they stay stored last,
// and are no longer counted in memory (stored, they are not lost).
func (p *Portal) leaveMisplaced(err error) {
	p.durable.lock.Lock()
	items := p.durable.misplaced
	p.durable.misplaced = nil
	p.durable.lock.Unlock()
	p.log.Err(err).Ints64("seqs", seqsOf(items)).Msg("Left events kept through an outage stored last; the next start bridges them after the events stored meanwhile")
	p.settleMisplaced(items)
}

// settleMisplaced ends the wait of items, kept events taken off
// durable.misplaced, for their places: they are stored where they stay,
// and no longer counted in memory.
func (p *Portal) settleMisplaced(items []*queueItem) {
	for _, item := range items {
		item.misplaced = false
		p.tookInMemory(item)
	}
}

// seqsOf are the stored sequence numbers of items, for the log.
func seqsOf(items []*queueItem) []int64 {
	seqs := make([]int64, len(items))
	for i, item := range items {
		seqs[i] = item.seq
	}
	return seqs
}

// placeKeptLocked is placeKept's move; when it fails, they stay where
// they are. The caller holds durable.lock.
func (p *Portal) placeKeptLocked(ctx context.Context, items []*queueItem) error {
	first := items[0].arrival
	for _, item := range items[1:] {
		first = min(first, item.arrival)
	}
	// The kept events are noted in storedWhile too, with their arrival.
	events, err := p.storedAfterLocked(ctx, first-1)
	if err == nil && len(events) < 2 {
		return nil // nothing came after it: it is in its place
	}
	if err == nil {
		slices.SortStableFunc(events, func(a, b arrivedEvent) int { return cmp.Compare(a.arrival, b.arrival) })
		err = p.m.db.DoTxn(ctx, nil, func(ctx context.Context) error {
			for i := range events {
				if err := p.storeArrivedEvent(ctx, &events[i]); err != nil {
					return err
				}
			}
			return nil
		})
	}
	if err != nil {
		// They stay where they are, out of order but kept, and still
		// misplaced, for another try.
		log := p.log.With().Int("events", len(items)).Ints64("seqs", seqsOf(items)).Int("after", len(events)).Logger()
		if ctx.Err() != nil {
			log.Warn().Err(err).Msg("The stop cut short putting events kept through an outage in the order they came; the stop puts them there")
		} else {
			log.Err(err).Msg("Failed to put events kept through an outage in the order they came; they wait for another try")
		}
		return fmt.Errorf("put %d events kept through an outage in the order they came: %w", len(items), err)
	}
	places := make(map[int64]int64, len(events))
	for _, e := range events {
		places[e.row.Seq] = e.stored
		p.notePlacedLocked(e.row.Seq, e.stored, e.arrival)
	}
	for _, item := range items {
		if seq, ok := places[item.seq]; ok {
			item.seq = seq
		}
	}
	p.log.Info().Int("events", len(items)).Int("moved", len(events)).Msg("Put events kept through an outage in the order they came")
	return nil
}

// notePlacedLocked notes that the stored event old is now stored as seq:
// noted again with its arrival (a later stop may move it once more), and
// still passed over if it was. The resumption needs no change: every
// event moved is stored after the first one kept. The caller holds
// durable.lock.
func (p *Portal) notePlacedLocked(old, seq, arrival int64) {
	p.noteStoredLocked(seq, arrival)
	if p.durable.passed[old] {
		delete(p.durable.passed, old)
		p.durable.passed[seq] = true
	}
}
