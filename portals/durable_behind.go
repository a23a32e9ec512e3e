package portals

import (
	"context"
	"sync/atomic"
	"time"

	"github.com/ferrybridge/ferry/bridge/network"
	"github.com/ferrybridge/ferry/database"
)

// Storing behind. A remote event is stored so that it is not lost if
// Ferry stops before it is bridged. When its portal is idle, though, it is
// bridged within milliseconds, and storing it first puts a database write
// (and its delete) between the line read and the request to the
// homeserver: the largest part of Ferry's own latency, and where most of
// its slow messages lose their time waiting for a processor. So an event
// that finds its portal idle is handed over at once and stored only if it
// is not bridged within StoreBehind, or if Ferry stops first, or if a
// later event has to be stored (which keeps the stored order that of
// arrival). A crash (not a stop) within StoreBehind of an event's arrival
// can lose it; a network that must not lose what it has acknowledged
// waits for the outcome instead (Host.HandleEvent).

// StoreBehind is how long an event handed to an idle portal goes
// unstored; 0 stores every event before it is handed over.
var StoreBehind = 50 * time.Millisecond

// behindEvent is an event handed to its portal before it was stored. Its
// row's payload is encoded when it is stored, possibly while the portal
// handles evt: the portal only reads the events it is handed.
type behindEvent struct {
	evt network.Event
	row *database.RemoteEvent
	// seq is the row's sequence number once stored (0 before).
	seq atomic.Int64
	// arrival numbers it among the portal's events (durable.arrivals).
	arrival int64
	// listed: not stored and not bridged yet (guarded by durable.lock).
	listed bool
	timer  *time.Timer
}

// storedSeq is the durable queue position of item's event, 0 if it is
// not stored.
func (item *queueItem) storedSeq() int64 {
	if item.behind != nil {
		return item.behind.seq.Load()
	}
	return item.seq
}

// handBehindLocked hands evt, numbered arrival, to an idle portal
// without storing it, and reports whether it did. The caller holds
// durable.lock.
func (p *Portal) handBehindLocked(login *network.Login, evt network.Event, row *database.RemoteEvent, arrival int64) bool {
	if StoreBehind <= 0 || p.durable.backlog.Load() || p.wouldWait() || p.m.ctx.Err() != nil {
		return false
	}
	be := &behindEvent{evt: evt, row: row, arrival: arrival, listed: true}
	p.durable.behind = append(p.durable.behind, be)
	// It counts against MaxPendingPerPortal from now on, stored or not:
	// in an outage it will be stored, and the bound is on what waits.
	p.durable.pending.Add(1)
	be.timer = time.AfterFunc(StoreBehind, func() { p.storeBehind(be) })
	if p.tryEnqueue(&queueItem{remote: evt, login: login, behind: be}) {
		return true
	}
	be.timer.Stop()
	p.unlistBehindLocked(be)
	p.durable.pending.Add(-1)
	return false
}

// storeBehind stores be, and every event handed over before it, unless it
// has been bridged meanwhile.
func (p *Portal) storeBehind(be *behindEvent) {
	p.durable.lock.Lock()
	defer p.durable.lock.Unlock()
	if be.listed {
		p.storeBehindLocked(context.WithoutCancel(p.m.ctx), be)
	}
}

// storeBehindLocked stores the events handed over unstored, oldest first,
// up to and including upTo (all of them when upTo is nil), so that stored
// events keep the order they arrived in. The caller holds durable.lock.
func (p *Portal) storeBehindLocked(ctx context.Context, upTo *behindEvent) {
	for len(p.durable.behind) > 0 {
		be := p.durable.behind[0]
		if !p.storeOneBehindLocked(ctx, be) {
			return
		}
		p.durable.behind[0] = nil
		p.durable.behind = p.durable.behind[1:]
		if be == upTo {
			return
		}
	}
}

// storeOneBehindLocked stores be, first in the list of events handed over
// unstored, and reports whether it may leave the list: stored, or never
// storable. The caller holds durable.lock.
func (p *Portal) storeOneBehindLocked(ctx context.Context, be *behindEvent) bool {
	if be.row.Payload == nil {
		payload, err := network.MarshalEvent(be.evt)
		if err != nil {
			// It can never be stored, and must not keep the events after
			// it from being stored: it leaves the list and goes on
			// unstored (still listed, so its portal settles it as an
			// unstored event).
			p.log.Err(err).Msg("Failed to encode a remote event handed to its portal; it is bridged but not stored")
			return true
		}
		be.row.Payload = payload
	}
	if err := p.insertLocked(ctx, be.row); err != nil {
		// It is still on its way; only a stop before it arrives loses it.
		p.log.Err(err).Msg("Failed to store a remote event handed to its portal")
		return false
	}
	be.listed = false
	be.seq.Store(be.row.Seq)
	p.noteStoredLocked(be.row.Seq, be.arrival)
	return true
}

// unlistBehindLocked forgets an unstored event (bridged, or not handed
// over after all) and reports whether it was unstored. The caller holds
// durable.lock.
func (p *Portal) unlistBehindLocked(be *behindEvent) bool {
	if !be.listed {
		return false
	}
	be.listed = false
	for i, other := range p.durable.behind {
		if other == be {
			p.durable.behind = append(p.durable.behind[:i], p.durable.behind[i+1:]...)
			break
		}
	}
	return true
}

// settleBehind decides, as item completes, whether its event is stored:
// not if it was bridged; if the bridge is stopping under it, yes, so that
// the next start replays it. An event that was never stored is done
// waiting here; a stored one is finished as every stored event is.
func (p *Portal) settleBehind(ctx context.Context, item *queueItem, err error) {
	be := item.behind
	be.timer.Stop()
	p.durable.lock.Lock()
	if err != nil && ctx.Err() != nil {
		p.storeBehindLocked(context.WithoutCancel(ctx), be)
		p.durable.lock.Unlock()
		return
	}
	unstored := p.unlistBehindLocked(be)
	p.durable.lock.Unlock()
	if unstored && p.durable.pending.Add(-1) <= 0 {
		p.caughtUp(ctx)
	}
}

// keepBehind stores every event handed over and not yet bridged, once the
// bridge has stopped the portal's goroutine (Manager.Stop).
func (p *Portal) keepBehind(ctx context.Context) {
	p.durable.lock.Lock()
	defer p.durable.lock.Unlock()
	p.storeBehindLocked(context.WithoutCancel(ctx), nil)
}
