package portals

import (
	"context"
	"errors"
	"fmt"
	"runtime/debug"
	"sync"
	"sync/atomic"
	"time"

	"github.com/rs/zerolog"
	"maunium.net/go/mautrix/event"
	"maunium.net/go/mautrix/id"

	"github.com/ferrybridge/ferry/bridge/network"
	"github.com/ferrybridge/ferry/bridge/readthrough"
	"github.com/ferrybridge/ferry/database"
	"github.com/ferrybridge/ferry/puppets"
)

// Portal is one remote chat and (once created) its Matrix room. Its fields
// are only changed by its own goroutine.
type Portal struct {
	*database.Portal
	m      *Manager
	log    zerolog.Logger
	queue  chan *queueItem
	wakeup chan struct{}
	// runLock guards running: whether the portal's goroutine exists.
	runLock sync.Mutex
	running bool
	// busy: the goroutine is working, not waiting for an item (wouldWait:
	// whether a remote event may go unstored, whether a Matrix event's
	// store need wait for it).
	busy atomic.Bool
	// durable tracks the stored queue of remote events (durable.go).
	durable durableState
	// typing is who was typing in the room at the last typing event.
	typing map[id.UserID]bool
	// handlingSince is when the portal started on its current remote
	// event, with metrics on (timing.go).
	handlingSince time.Time
	// ahead tracks messages whose outcome is still to come (ahead.go).
	ahead aheadState
	// members caches who takes part in a shared portal (members.go).
	members readthrough.Cache[id.UserID, *network.Login]
	// memberSync is the member list still being joined between items
	// (member_sync.go), or nil.
	memberSync *memberSync
	// edits are the edits, reactions and reaction removals bridged
	// lately (remote_edit_once.go, remote_reaction_once.go).
	edits bridgedEdits
}

type queueItem struct {
	remote network.Event
	login  *network.Login
	// wait is the network waiting for a remote event handed over in
	// memory (QueueRemote), and key the event's hand-over key, counted
	// while it is on its way (lost_notes.go); result is the plain channel
	// of other waiters (Manager.Do, stored events). See tell.
	wait   *RemoteWait
	key    string
	result chan<- error
	// arrival numbers a storable event handed over in memory among the
	// portal's events, counted in durable.inMemory until it is done
	// (durable_stop_queued.go); 0 for others. counted: still counted
	// there.
	arrival int64
	counted bool
	// misplaced: kept through an outage, stored last by a tail, and
	// still counted until it is put in its place
	// (durable_outage_place.go).
	misplaced bool
	// seq is the durable queue position of a stored remote event (0: not
	// stored); see storedSeq.
	seq int64
	// behind is set when the event was handed over before it was stored
	// (durable_behind.go).
	behind *behindEvent

	matrix *event.Event
	// firstSeen: the matrix event was new to the store when it arrived
	// (see Manager.QueueMatrix).
	firstSeen bool
	done      func()
	// left is the Matrix event's MatrixHooks.Left.
	left func()

	fn func(ctx context.Context) error

	// tail is set when the item went ahead: a tail goroutine runs it and
	// then completes the item (ahead.go).
	tail func() error
}

// PortalIdleTimeout is how long a portal's goroutine waits for work
// before it ends; the next item starts a new one.
var PortalIdleTimeout = 5 * time.Minute

// enqueue adds an item, waiting while the queue is full, and makes sure
// the goroutine runs. Items go in before the kick: a goroutine that saw
// an empty queue and ended is then restarted by the kick.
func (p *Portal) enqueue(ctx context.Context, item *queueItem) error {
	select {
	case p.queue <- item:
	default:
		// Full: the goroutine is running (it ends only on an empty queue),
		// so waiting for room is safe.
		p.kick()
		select {
		case p.queue <- item:
		case <-ctx.Done():
			return ctx.Err()
		case <-p.m.ctx.Done():
			return fmt.Errorf("portal %s: bridge is stopping", p.Key)
		}
	}
	p.kick()
	return nil
}

// tryEnqueue adds an item unless the queue is full.
func (p *Portal) tryEnqueue(item *queueItem) bool {
	select {
	case p.queue <- item:
		p.kick()
		return true
	default:
		return false
	}
}

// kick starts the portal's goroutine unless it runs or the bridge stops.
func (p *Portal) kick() {
	p.runLock.Lock()
	defer p.runLock.Unlock()
	if p.running || p.m.ctx.Err() != nil {
		return
	}
	p.m.lock.Lock()
	stopped := p.m.stopped
	if !stopped {
		p.m.wg.Add(1)
	}
	p.m.lock.Unlock()
	if stopped {
		return
	}
	p.running = true
	go p.run(p.m.ctx)
}

func (p *Portal) run(ctx context.Context) {
	defer p.m.wg.Done()
	idle := time.NewTimer(PortalIdleTimeout)
	defer idle.Stop()
	for {
		p.busy.Store(true)
		if p.memberSyncDue() {
			p.continueMemberSync(ctx)
		}
		// Only work needs marking: handBehindLocked sees a stop and a
		// backlog (what wakeup is for) itself, and an event handed to a
		// goroutine that is ending starts another (kick).
		p.busy.Store(false)
		select {
		case <-ctx.Done():
			p.closePipeline()
			p.setRunning(false)
			return
		case item := <-p.queue:
			p.busy.Store(true)
			if seq := item.storedSeq(); seq != 0 && (seq <= p.durable.lastSeq.Load() || p.durable.stalled.Load()) {
				// Already bridged from the store during a backlog drain,
				// or waiting there behind an event the homeserver could
				// not take yet (durable_outage.go).
				continue
			}
			if item.matrix != nil && p.m.matrixHeld.Load() {
				// Left unhandled, stored: the next start bridges it.
				continue
			}
			p.handle(ctx, item)
		case <-p.wakeup:
		case <-idle.C:
			if p.endIfIdle() {
				return
			}
		}
		if len(p.queue) == 0 && p.backlogged() {
			p.drainBacklog(ctx)
		}
		idle.Reset(PortalIdleTimeout)
	}
}

// endIfIdle marks the goroutine gone when there is no work; decided under
// runLock so that a concurrent kick either sees it running (and its item
// is taken) or sees it gone (and starts another).
func (p *Portal) endIfIdle() bool {
	p.runLock.Lock()
	defer p.runLock.Unlock()
	if len(p.queue) > 0 || p.backlogged() || p.ahead.n.Load() > 0 || p.memberSyncPending() {
		return false
	}
	// Under runLock: a goroutine started by the next kick cannot touch the
	// pipeline before it is closed.
	p.closePipeline()
	p.running = false
	return true
}

func (p *Portal) setRunning(running bool) {
	p.runLock.Lock()
	p.running = running
	p.runLock.Unlock()
}

// handle runs one item and never lets a panic escape: a malformed event
// must not take down the portal, let alone the bridge. An item that may
// not go ahead first waits for the tails of those that did (ahead.go).
func (p *Portal) handle(ctx context.Context, item *queueItem) {
	if p.mayGoAhead(item) {
		p.liftNeedlessHold()
		ctx = context.WithValue(ctx, aheadKey{}, item)
	} else {
		p.settle()
	}
	if p.heldBehindOutage(ctx, item) {
		return
	}
	var err error
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("panic while bridging: %v", r)
			p.log.Error().Any("panic", r).Str("stack", string(debug.Stack())).Msg("Panic in portal")
			if item.matrix != nil {
				// A failure is never silent: the sender hears of it as of
				// any failed send.
				p.reportPanic(ctx, item.matrix, err)
			}
		}
		if item.tail == nil || err != nil {
			p.complete(ctx, item, err)
		}
	}()
	if item.fn != nil {
		err = item.fn(ctx)
		return
	}
	if item.remote != nil {
		p.startedRemote(item.remote)
		err = p.handleRemote(p.remoteLog(item).WithContext(ctx), item.login, item.remote)
	} else {
		log := p.log.With().Str("direction", "matrix_to_remote").
			Stringer("event_id", item.matrix.ID).
			Str("event_type", item.matrix.Type.Type).Logger()
		log.Debug().Msg("Handling Matrix event")
		p.startedMatrix(item.matrix)
		p.handleMatrix(withLeft(log.WithContext(ctx), item), item.matrix, item.firstSeen)
	}
}

// reportPanic tells the room that evt was not bridged because its
// handling panicked. A panic in the report itself is only logged: it runs
// where the first panic was caught, and nothing catches it there.
func (p *Portal) reportPanic(ctx context.Context, evt *event.Event, err error) {
	defer func() {
		if r := recover(); r != nil {
			p.log.Error().Any("panic", r).Msg("Panic while reporting a panic in the room")
		}
	}()
	p.reportFailure(ctx, evt, err)
}

func (p *Portal) remoteLog(item *queueItem) zerolog.Logger {
	return p.log.With().Str("direction", "remote_to_matrix").
		Str("login", string(item.login.ID)).
		Str("event_type", fmt.Sprintf("%T", item.remote)).Logger()
}

// complete ends an item once it is bridged or has failed: its waiter
// hears the outcome and a stored event is forgotten.
func (p *Portal) complete(ctx context.Context, item *queueItem, err error) {
	kept, unreachable := false, false
	if err != nil && item.remote != nil {
		l := p.remoteLog(item)
		if kept = p.keepUntilReachable(ctx, item, err); kept {
			l.Warn().Err(err).Int64("seq", item.storedSeq()).Dur("resume_in", ResumeAfterOutage).
				Msg("Homeserver unreachable; the remote event stays queued for later")
			// It is safe in the store: a network waiting for it may
			// acknowledge it, as it may any event it queued.
			err = nil
		} else {
			// Given up for an unreachable homeserver is for its network
			// to deliver again, if one waits: told below.
			unreachable = errors.Is(err, puppets.ErrUnreachable) && ctx.Err() == nil
			if !unreachable {
				l.Err(err).Msg("Failed to bridge remote event")
				p.reportRemoteFailure(l.WithContext(ctx), item.login, item.remote, err)
			}
		}
	}
	heard := item.tell(err)
	if unreachable {
		l := p.remoteLog(item)
		switch {
		case heard:
			l.Err(err).Msg("Failed to bridge remote event; its network delivers it again")
		case p.keepUnheard(ctx, item, err):
			// No network hears of it, but it is stored now, as an event
			// of the durable path is, and goes once the homeserver is
			// back.
			l.Warn().Err(err).Int64("seq", item.storedSeq()).Dur("resume_in", ResumeAfterOutage).
				Msg("Homeserver unreachable and the network stopped waiting; the remote event is stored for later")
			kept = true
		default:
			// Not kept, and no network hears of it to deliver it again
			// (none waited, or it stopped waiting): lost. The room hears
			// of it once it can.
			l.Err(err).Msg("Failed to bridge remote event, and it could not be kept")
			p.noteLostInOutage(item.login, item.remote)
		}
	}
	cut := err != nil && !heard && p.cutShortByStop(ctx, item)
	if cut {
		// The stop stores it with the events left queued, in the order
		// they came, and the next start bridges it (keepQueued); it stays
		// counted as waiting in memory until then.
		l := p.remoteLog(item)
		l.Info().Msg("The stop cut short a remote event its network no longer waited for; it is stored for the next start")
		kept = true
	} else {
		p.tookInMemory(item)
	}
	if item.remote != nil {
		// Bridged, kept, stored for the next start, or its failure told:
		// a loss noted for an earlier hand-over of the same event is no
		// longer one (lost_notes.go).
		p.settleHandover(item, err == nil || heard || item.storedSeq() != 0 || (!unreachable && ctx.Err() == nil))
	}
	if item.left != nil {
		item.left()
	}
	if item.done != nil {
		item.done()
	}
	if kept {
		return
	}
	if item.behind != nil {
		p.settleBehind(ctx, item, err)
	}
	// A stored event stays stored when the bridge is stopping under it:
	// the next start replays it. Any other outcome is final.
	if seq := item.storedSeq(); seq != 0 && ctx.Err() == nil {
		p.finishStored(ctx, seq)
	}
}

func (p *Portal) backlogged() bool {
	return p.durable.backlog.Load()
}
