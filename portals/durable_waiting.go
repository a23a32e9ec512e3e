package portals

import (
	"context"
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
// the channel its outcome comes on; nil when there is no backlog, or evt
// cannot be stored, and it may go through the in-memory queue.
func (p *Portal) queueBehindBacklog(ctx context.Context, login *network.Login, evt network.Event) (<-chan error, error) {
	if !network.Persistable(evt) {
		return nil, nil
	}
	p.durable.lock.Lock()
	defer p.durable.lock.Unlock()
	if !p.durable.backlog.Load() {
		return nil, nil
	}
	payload, err := network.MarshalEvent(evt)
	if err != nil {
		return nil, nil // it cannot wait in the store; it goes as before
	}
	row := &database.RemoteEvent{Portal: p.Key, Login: login.ID, ReceivedAt: time.Now(), Payload: payload}
	if err = p.storeLocked(ctx, evt, row); err != nil {
		return nil, err
	}
	result := make(chan error, 1)
	if p.durable.stalled.Load() && p.durable.pending.Load() <= MaxPendingPerPortal {
		// The backlog waits for the homeserver (durable_outage.go), for
		// as long as it is unreachable. The event is safe in the store
		// and goes in its order once the homeserver is back, so its
		// network hears that now, as it does of the event kept there
		// first, rather than hold its connection through the outage.
		// Past MaxPendingPerPortal it waits as before: that holds the
		// network back instead of letting the store grow without bound.
		result <- nil
		return result, nil
	}
	if p.durable.waiters == nil {
		p.durable.waiters = make(map[int64]chan<- error)
	}
	p.durable.waiters[row.Seq] = result
	p.wake() // the drain reaches it; a backlog keeps the goroutine anyway
	return result, nil
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
