package portals

import (
	"cmp"
	"context"
	"errors"
	"slices"
	"time"

	"github.com/ferrybridge/ferry/bridge/network"
	"github.com/ferrybridge/ferry/database"
)

// Events queued in memory at a stop. A remote event a network hands over
// and waits for (Manager.QueueRemote) goes through the portal's queue
// unstored. When the bridge stops, the portal's goroutine ends after its
// current item and the items behind it are never handled: a network that
// had stopped waiting (HandleEvent returned ErrStillQueued, the core
// still holding the event) would never deliver it again, and one still
// waiting would hear nothing. So the stop stores them, as it stores the
// events handed over unstored (durable_behind.go), and the next start
// bridges them in their order. So too the current item, when the stop
// cut its send short and its network no longer waits (cutShortByStop).
//
// That order is the one they came in. While they waited, events handed
// over through the durable path to the busy portal were stored as they
// came (QueueDurable): stored only at the stop, a message that came
// first was bridged after the restart behind the membership change or
// chat info that followed it. So the portal numbers the events it is
// handed (durable.arrivals), and while storable events handed over in
// memory are not done it notes the number of each event stored meanwhile
// (storedWhile); the stop stores the waiting events and moves those
// stored after them behind them, in one transaction, in the order they
// came.

// errStoppedUnkept is told to a network whose event the stop could not
// store: it was not bridged, and the network may deliver it again.
var errStoppedUnkept = errors.New("the bridge stopped before the event was bridged, and it could not be kept")

// arrivedRow is a stored event's queue position and arrival number.
type arrivedRow struct{ seq, arrival int64 }

// storedWhilePrune is the length of storedWhile past which the events
// bridged since are dropped from it, before it grows further.
const storedWhilePrune = 1024

// queueInMemory numbers item, a remote event a network waits for, and
// counts it as handed over unstored until it is done, if it can be
// stored at all.
func (p *Portal) queueInMemory(item *queueItem) {
	if !network.Persistable(item.remote) {
		return
	}
	item.arrival = p.durable.arrivals.Add(1)
	item.counted = true
	p.durable.inMemory.Add(1)
}

// tookInMemory counts item out of the events handed over in memory, once
// it is done (bridged, failed, stored, or never queued). With none left,
// no stored event needs to be ordered against them.
func (p *Portal) tookInMemory(item *queueItem) {
	if !item.counted || item.misplaced {
		return
	}
	item.counted = false
	if p.durable.inMemory.Add(-1) > 0 {
		return
	}
	p.durable.lock.Lock()
	if p.durable.inMemory.Load() == 0 {
		p.durable.storedWhile = nil
	}
	p.durable.lock.Unlock()
}

// noteStoredLocked notes the event stored as seq, numbered arrival, while
// events wait in memory. The caller holds durable.lock.
func (p *Portal) noteStoredLocked(seq, arrival int64) {
	if arrival == 0 || p.durable.inMemory.Load() == 0 {
		return
	}
	if w := p.durable.storedWhile; len(w) >= storedWhilePrune && len(w) == cap(w) {
		// In memory for long (a slow portal): the events bridged since
		// need no moving.
		last := p.durable.lastSeq.Load()
		p.durable.storedWhile = slices.DeleteFunc(w, func(r arrivedRow) bool { return r.seq <= last })
	}
	p.durable.storedWhile = append(p.durable.storedWhile, arrivedRow{seq: seq, arrival: arrival})
}

// cutShortByStop reports whether item, an event handed over in memory
// whose network no longer waits for it, was being bridged when the stop
// cut it short, and can be stored; if so, the stop stores it with the
// events left queued (keepQueued), and the next start bridges it.
//
// Its send may have reached the homeserver before the stop ended it. The
// next start sends it with the same transaction IDs (txnID is made of
// the portal's key and the event's IDs; an edit's also of the target's
// edit count, bumped only once the edit is sent), which the homeserver
// answers with the event it made the first time while it remembers the
// transaction (Dendrite: for 30 to 60 minutes, by access token and
// transaction ID, in memory), and a message whose mapping was written is
// recognised by it. That is the risk a stored event the stop cut short
// has always taken (it stays stored); without it the event was lost
// without a word.
func (p *Portal) cutShortByStop(ctx context.Context, item *queueItem) bool {
	if ctx.Err() == nil || item.remote == nil || item.wait == nil || item.storedSeq() != 0 || !item.counted {
		return false
	}
	p.durable.lock.Lock()
	p.durable.cutShort = append(p.durable.cutShort, item)
	p.durable.lock.Unlock()
	return true
}

// keepQueued stores the remote events handed over in memory that the
// stop cut short, or left in p's queue, and tells the networks still
// waiting that they are kept. Called by Manager.Stop once the portal's
// goroutine and its tails have ended; ctx is the stopping manager's.
func (p *Portal) keepQueued(ctx context.Context) {
	ctx = context.WithoutCancel(ctx)
	// Those kept by tails through an outage take their places first:
	// the events left here may be moved behind them.
	if err := p.placeKept(ctx); err != nil {
		p.leaveMisplaced(err)
	}
	p.durable.lock.Lock()
	waiting := p.durable.cutShort
	p.durable.cutShort = nil
	p.durable.lock.Unlock()
	// They came before those still queued; among themselves (tails sent
	// ahead), in their order.
	slices.SortFunc(waiting, func(a, b *queueItem) int { return cmp.Compare(a.arrival, b.arrival) })
	for len(p.queue) > 0 {
		item := <-p.queue
		if item.wait == nil || item.remote == nil {
			// Stored already, handed over unstored (keepBehind), a
			// Matrix event left for the next start, or a portal's own
			// work.
			continue
		}
		waiting = append(waiting, item)
	}
	if len(waiting) == 0 {
		return
	}
	p.durable.lock.Lock()
	// Those handed over unstored came before them: an event is handed
	// over unstored only to a portal with an empty queue.
	p.storeBehindLocked(ctx, nil)
	kept := p.storeInOrderLocked(ctx, waiting)
	p.durable.lock.Unlock()
	for _, item := range waiting {
		if !kept[item] {
			if !item.tell(errStoppedUnkept) {
				l := p.remoteLog(item)
				l.Error().Msg("A remote event its network no longer waited for was lost at the stop: it could not be stored")
			}
			p.settleHandover(item, false)
			continue
		}
		item.tell(nil)
		p.settleHandover(item, true)
	}
}

// arrivedEvent is an event to store at the stop: one waiting in memory
// (item, encoded as payload), or a stored one to move behind them (row).
type arrivedEvent struct {
	arrival int64
	item    *queueItem
	payload []byte
	row     *database.RemoteEvent
	// stored is its place once stored (storeArrivedEvent).
	stored int64
}

// storeInOrderLocked stores the events waiting in memory, with the
// events stored after the first of them came moved behind, all in the
// order they came, and returns those of waiting it stored. The caller
// holds durable.lock.
func (p *Portal) storeInOrderLocked(ctx context.Context, waiting []*queueItem) map[*queueItem]bool {
	var events []arrivedEvent
	first := int64(0)
	for _, item := range waiting {
		payload, err := network.MarshalEvent(item.remote)
		if err != nil {
			continue // lazy media: it cannot be kept
		}
		events = append(events, arrivedEvent{arrival: item.arrival, item: item, payload: payload})
		if first == 0 || item.arrival < first {
			first = item.arrival
		}
	}
	if len(events) == 0 {
		return nil
	}
	later, err := p.storedAfterLocked(ctx, first)
	if err != nil {
		// They stay where they are, and the events waiting in memory are
		// stored after them: out of order, but kept.
		p.log.Err(err).Msg("Failed to read the events stored while others waited in memory; those are stored last")
	}
	events = append(events, later...)
	slices.SortStableFunc(events, func(a, b arrivedEvent) int { return cmp.Compare(a.arrival, b.arrival) })
	stored := make(map[*queueItem]bool, len(waiting))
	err = p.m.db.DoTxn(ctx, nil, func(ctx context.Context) error {
		for i := range events {
			if err := p.storeArrivedEvent(ctx, &events[i]); err != nil {
				return err
			}
		}
		return nil
	})
	if err == nil {
		for _, e := range events {
			if e.item != nil {
				stored[e.item] = true
			}
			// Each is in a new place now; the moved ones, should they
			// need moving again behind another event waiting in memory.
			p.noteStoredLocked(e.stored, e.arrival)
		}
		return stored
	}
	// Nothing was stored or moved: each waiting event on its own, then,
	// kept out of order rather than lost.
	p.log.Err(err).Msg("Failed to store the events waiting in memory in the order they came; they are stored last")
	for _, e := range events {
		if e.item == nil {
			continue
		}
		e.item.seq = 0 // its place in the transaction undone
		single := arrivedEvent{arrival: e.arrival, item: e.item, payload: e.payload}
		if p.storeArrivedEvent(ctx, &single) == nil {
			stored[e.item] = true
			p.noteStoredLocked(single.stored, single.arrival)
		}
	}
	return stored
}

// storeArrivedEvent stores e last in the queue: a copy of its row, which
// is then deleted, or the event waiting in memory, whose place (item.seq)
// it sets. e.stored is its new place. The caller holds durable.lock.
func (p *Portal) storeArrivedEvent(ctx context.Context, e *arrivedEvent) error {
	if e.row != nil {
		moved := *e.row
		moved.Seq = 0
		if err := p.insertLocked(ctx, &moved); err != nil {
			return err
		}
		e.stored = moved.Seq
		return p.m.db.RemoteEvents.Delete(ctx, e.row.Seq)
	}
	row := &database.RemoteEvent{Portal: p.Key, Login: e.item.login.ID, ReceivedAt: time.Now(), Payload: e.payload}
	if err := p.insertLocked(ctx, row); err != nil {
		l := p.remoteLog(e.item)
		l.Err(err).Msg("Failed to store a remote event waiting in memory")
		return err
	}
	e.stored = row.Seq
	e.item.seq = row.Seq
	return nil
}

// storedAfterLocked reads the events still stored that came after the
// event numbered first. The caller holds durable.lock.
func (p *Portal) storedAfterLocked(ctx context.Context, first int64) ([]arrivedEvent, error) {
	arrivals := make(map[int64]int64)
	from := int64(0)
	for _, r := range p.durable.storedWhile {
		if r.arrival <= first {
			continue
		}
		arrivals[r.seq] = r.arrival
		if from == 0 || r.seq < from {
			from = r.seq
		}
	}
	if len(arrivals) == 0 {
		return nil, nil
	}
	var later []arrivedEvent
	for after := from - 1; ; {
		rows, err := p.m.db.RemoteEvents.ForPortal(ctx, p.Key, after, backlogBatch)
		if err != nil {
			return nil, err
		}
		for _, row := range rows {
			if arrival, ok := arrivals[row.Seq]; ok {
				later = append(later, arrivedEvent{arrival: arrival, row: row})
			}
			after = row.Seq
		}
		if len(rows) < backlogBatch {
			return later, nil
		}
	}
}
