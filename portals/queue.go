package portals

import (
	"context"
	"fmt"
	"runtime/debug"

	"github.com/rs/zerolog"
	"maunium.net/go/mautrix/event"
	"maunium.net/go/mautrix/id"

	"github.com/ferrybridge/ferry/bridge/network"
	"github.com/ferrybridge/ferry/database"
)

// Portal is one remote chat and (once created) its Matrix room. Its fields
// are only changed by its own goroutine.
type Portal struct {
	*database.Portal
	m      *Manager
	log    zerolog.Logger
	queue  chan *queueItem
	wakeup chan struct{}
	// durable tracks the stored queue of remote events (durable.go).
	durable durableState
	// typing is who was typing in the room at the last typing event.
	typing map[id.UserID]bool
}

type queueItem struct {
	remote network.Event
	login  *network.Login
	result chan<- error
	// seq is the durable queue position of a stored remote event (0: not
	// stored).
	seq int64

	matrix *event.Event
	done   func()

	fn func(ctx context.Context) error
}

func (p *Portal) run(ctx context.Context) {
	defer p.m.wg.Done()
	for {
		select {
		case <-ctx.Done():
			return
		case item := <-p.queue:
			if item.seq != 0 && item.seq <= p.durable.lastSeq {
				// Already bridged from the store during a backlog drain.
				continue
			}
			p.handle(ctx, item)
		case <-p.wakeup:
		}
		if len(p.queue) == 0 && p.backlogged() {
			p.drainBacklog(ctx)
		}
	}
}

// handle runs one item and never lets a panic escape: a malformed event
// must not take down the portal, let alone the bridge.
func (p *Portal) handle(ctx context.Context, item *queueItem) {
	var err error
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("panic while bridging: %v", r)
			p.log.Error().Any("panic", r).Str("stack", string(debug.Stack())).Msg("Panic in portal")
		}
		if item.result != nil {
			item.result <- err
		}
		if item.done != nil {
			item.done()
		}
		// A stored event stays stored when the bridge is stopping under it:
		// the next start replays it. Any other outcome is final.
		if item.seq != 0 && ctx.Err() == nil {
			p.finishStored(ctx, item.seq)
		}
	}()
	if item.fn != nil {
		err = item.fn(ctx)
		return
	}
	if item.remote != nil {
		log := p.log.With().Str("direction", "remote_to_matrix").
			Str("login", string(item.login.ID)).
			Str("event_type", fmt.Sprintf("%T", item.remote)).Logger()
		err = p.handleRemote(log.WithContext(ctx), item.login, item.remote)
		if err != nil {
			log.Err(err).Msg("Failed to bridge remote event")
		}
	} else {
		log := p.log.With().Str("direction", "matrix_to_remote").
			Stringer("event_id", item.matrix.ID).
			Str("event_type", item.matrix.Type.Type).Logger()
		log.Debug().Msg("Handling Matrix event")
		p.handleMatrix(log.WithContext(ctx), item.matrix)
	}
}

func (p *Portal) backlogged() bool {
	p.durable.lock.Lock()
	defer p.durable.lock.Unlock()
	return p.durable.backlog
}
