package portals

import (
	"context"
	"errors"
)

// Events queued in memory at a stop. A remote event a network hands over
// and waits for (Manager.QueueRemote) goes through the portal's queue
// unstored. When the bridge stops, the portal's goroutine ends after its
// current item and the items behind it are never handled: a network that
// had stopped waiting (HandleEvent returned ErrStillQueued, the core
// still holding the event) would never deliver it again, and one still
// waiting would hear nothing. So the stop stores them, as it stores the
// events handed over unstored (durable_behind.go), and the next start
// bridges them in their order.

// errStoppedUnkept is told to a network whose event the stop could not
// store: it was not bridged, and the network may deliver it again.
var errStoppedUnkept = errors.New("the bridge stopped before the event was bridged, and it could not be kept")

// keepQueued stores the remote events still in p's queue that networks
// handed over in memory, and tells the networks still waiting that they
// are kept. Called by Manager.Stop once the portal's goroutine has ended;
// ctx is the stopping manager's.
func (p *Portal) keepQueued(ctx context.Context) {
	ctx = context.WithoutCancel(ctx)
	for {
		var item *queueItem
		select {
		case item = <-p.queue:
		default:
			return
		}
		if item.wait == nil || item.remote == nil {
			// Stored already, handed over unstored (keepBehind), a
			// Matrix event left for the next start, or a portal's own
			// work.
			continue
		}
		if !p.storeBehindStall(ctx, item) {
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
