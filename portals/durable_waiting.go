package portals

import (
	"context"
	"fmt"
	"time"

	"github.com/ferrybridge/ferry/bridge/network"
	"github.com/ferrybridge/ferry/database"
)

// Events a network waits for (QueueRemote; WhatsApp hands over messages,
// edits and history this way and acknowledges them once bridged) go
// through the portal's in-memory queue, which runs before the stored
// backlog. While a backlog waits, such an event overtook it: an edit of a
// message still in the backlog found no target, was dropped, and was
// acknowledged. So while there is a backlog, a storable event is stored
// behind it, and its waiter hears the outcome when the drain reaches it,
// or at once while the backlog waits for an unreachable homeserver.

// queueBehindBacklog stores evt behind the portal's backlog and returns
// the wait for its outcome; nil when there is no backlog, or evt cannot
// be stored, and it may go through the in-memory queue. Stored, it is
// not lost when its network stops waiting, so its waiter is a plain
// channel (the wait's own), and leaving the wait changes nothing.
//
// The portal holds at most MaxPendingPerPortal events. Past that, evt is
// not stored: its network is held back here until the drain has made
// room, or until its context ends, and then hears ErrQueueFull and keeps
// the event (HandleEvent's contract: WhatsApp leaves it unacknowledged
// and gets it again). Stored at once and merely not answered, each event
// a network gave up waiting for stayed in the store, and each redelivery
// of it was stored again: without bound, for as long as the backlog
// lasted.
func (p *Portal) queueBehindBacklog(ctx context.Context, login *network.Login, evt network.Event) (*RemoteWait, error) {
	if !network.Persistable(evt) {
		return nil, nil
	}
	for held := false; ; held = true {
		p.durable.lock.Lock()
		if !p.durable.backlog.Load() {
			p.durable.lock.Unlock()
			return nil, nil
		}
		if p.durable.pending.Load() < MaxPendingPerPortal {
			break // with the lock held
		}
		p.durable.lock.Unlock()
		if !held {
			p.log.Warn().Int64("waiting", MaxPendingPerPortal).Msg("Portal queue is full; the network waits for room")
		}
		if err := p.waitForRoom(ctx); err != nil {
			return nil, err
		}
	}
	defer p.durable.lock.Unlock()
	payload, err := network.MarshalEvent(evt)
	if err != nil {
		return nil, nil // it cannot wait in the store; it goes as before
	}
	row := &database.RemoteEvent{Portal: p.Key, Login: login.ID, ReceivedAt: time.Now(), Payload: payload}
	if err = p.storeLocked(ctx, evt, row, p.durable.arrivals.Add(1)); err != nil {
		return nil, err
	}
	wait := newRemoteWait()
	if p.durable.stalled.Load() {
		// The backlog waits for the homeserver (durable_outage.go), for
		// as long as it is unreachable. The event is safe in the store
		// and goes in its order once the homeserver is back, so its
		// network hears that now, as it does of the event kept there
		// first, rather than hold its connection through the outage.
		wait.outcome <- nil
		return wait, nil
	}
	if p.durable.waiters == nil {
		p.durable.waiters = make(map[int64]chan<- error)
	}
	p.durable.waiters[row.Seq] = wait.outcome
	p.wake() // the drain reaches it; a backlog keeps the goroutine anyway
	return wait, nil
}

// roomPoll is how often an event held back by a full portal looks for
// room again. Polling costs the hot path nothing, and a full portal is
// an outage's exception.
var roomPoll = 100 * time.Millisecond

// waitForRoom waits one roomPoll, and fails once ctx ends or the bridge
// stops.
func (p *Portal) waitForRoom(ctx context.Context) error {
	timer := time.NewTimer(roomPoll)
	defer timer.Stop()
	select {
	case <-timer.C:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("%w (%d events waiting): %w", ErrQueueFull, MaxPendingPerPortal, ctx.Err())
	case <-p.m.ctx.Done():
		return fmt.Errorf("%w: bridge is stopping", ErrQueueFull)
	}
}

// takeWaiter returns, and forgets, the channel a network waits on for
// the outcome of the stored event seq; nil if none waits.
func (p *Portal) takeWaiter(seq int64) chan<- error {
	p.durable.lock.Lock()
	defer p.durable.lock.Unlock()
	w := p.durable.waiters[seq]
	delete(p.durable.waiters, seq)
	return w
}
