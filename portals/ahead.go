package portals

import (
	"context"
	"fmt"
	"runtime/debug"
	"sync"
	"sync/atomic"
	"time"

	"maunium.net/go/mautrix/event"
	"maunium.net/go/mautrix/id"

	"github.com/ferrybridge/ferry/bridge/network"
	"github.com/ferrybridge/ferry/puppets"
)

// Sending ahead. A portal handles one item at a time, so that a room's
// messages leave in the order they came. Waiting for each message's
// answer before starting the next, though, makes a burst queue in Ferry
// behind the homeserver's (or the IRC server's) round trips. So a plain
// new message may go ahead: once it holds its place in the order (its
// request written to the room's pipeline to the homeserver, its line
// queued on the IRC connection), the portal starts on the next item, and
// a tail goroutine waits for the answer and stores the ID mapping.
//
// Only messages that depend on no earlier message's outcome go ahead: no
// reply, edit, placeholder or file, and no message whose ID is already on
// its way. Everything else first waits for all tails (settle), so it sees
// every earlier mapping stored, exactly as if nothing had gone ahead.
type aheadState struct {
	wg sync.WaitGroup
	// n counts running tails (the portal goroutine may not end with any).
	n atomic.Int64

	mu sync.Mutex
	// ids are the remote message IDs and Matrix event IDs of the tails.
	ids map[string]struct{}
	// matrixSender is the sender of the Matrix messages of the running
	// tails: a network keeps the order of one sender's messages (one
	// connection), not across senders.
	matrixSender id.UserID
	matrixTails  int

	// slots bounds the running tails (maxAhead), made on first use.
	slots chan struct{}

	// pipe is the room's pipeline to the homeserver, made on first use;
	// owned by the portal goroutine.
	pipe *puppets.Pipeline
}

// maxAhead bounds how many of a room's messages may wait for their
// outcome at once, so that a long burst (a backlog after an outage) holds
// a bounded number of goroutines and requests. Towards Matrix the bound is
// deep enough for a homeserver a few seconds behind: the queue then waits
// in the homeserver's socket, ready for it, not in Ferry. Towards a
// network it is lower: a room must not take all of a connection's pending
// confirmations (IRC allows 128 labels per connection).
const (
	maxAhead       = 64
	maxMatrixAhead = 16
)

// workerKeep is how long a worker that ran a send or a tail waits for the
// next: longer than the gaps within a burst, short enough that a quiet
// bridge holds no idle goroutines.
const workerKeep = 5 * time.Second

type aheadKey struct{}

// aheadItem is the item being handled when it may go ahead (see
// mayGoAhead), else nil.
func aheadItem(ctx context.Context) *queueItem {
	item, _ := ctx.Value(aheadKey{}).(*queueItem)
	return item
}

// mayGoAhead says whether item depends on no earlier item's outcome, so
// that it may start while earlier tails run.
func (p *Portal) mayGoAhead(item *queueItem) bool {
	if item.fn != nil {
		return false
	}
	if item.remote != nil {
		msg, ok := item.remote.(*network.Message)
		if !ok || msg.Placeholder || msg.ReplyTo != nil || p.RoomID == "" || len(msg.Parts) == 0 {
			return false
		}
		for _, part := range msg.Parts {
			if part.Media != nil {
				return false
			}
		}
		return !p.inFlight(remoteFlightKey(msg.ID))
	}
	evt := item.matrix
	if evt == nil || evt.Type != event.EventMessage {
		return false
	}
	content := evt.Content.AsMessage()
	if content == nil || content.RelatesTo != nil || content.MsgType.IsMedia() {
		return false
	}
	p.ahead.mu.Lock()
	otherSender := p.ahead.matrixTails > 0 && p.ahead.matrixSender != evt.Sender
	full := p.ahead.matrixTails >= maxMatrixAhead
	p.ahead.mu.Unlock()
	return !otherSender && !full && !p.inFlight(matrixFlightKey(evt.ID))
}

func remoteFlightKey(msg network.MessageID) string { return "r:" + string(msg) }

func matrixFlightKey(evt id.EventID) string { return "m:" + string(evt) }

func (p *Portal) inFlight(key string) bool {
	p.ahead.mu.Lock()
	defer p.ahead.mu.Unlock()
	_, ok := p.ahead.ids[key]
	return ok
}

// goAhead finishes item in a tail: tail waits for the outcome and stores
// it, then the item completes (its result, done and stored-event
// bookkeeping). key marks the message as on its way; sender is set for
// Matrix messages.
func (p *Portal) goAhead(ctx context.Context, item *queueItem, key string, sender id.UserID, tail func() error) {
	p.ahead.mu.Lock()
	if p.ahead.ids == nil {
		p.ahead.ids = make(map[string]struct{})
	}
	p.ahead.ids[key] = struct{}{}
	if sender != "" {
		p.ahead.matrixSender = sender
		p.ahead.matrixTails++
	}
	p.ahead.mu.Unlock()
	if p.ahead.slots == nil {
		p.ahead.slots = make(chan struct{}, maxAhead)
	}
	// The send has its place already; waiting here only holds back the
	// next item while maxAhead tails run.
	p.ahead.slots <- struct{}{}
	item.tail = tail // handle leaves completing the item to the tail
	p.ahead.n.Add(1)
	p.ahead.wg.Add(1)
	p.m.wg.Add(1) // the portal goroutine holds the manager's group, so this cannot race Wait
	p.m.workers.Go(func() {
		var err error
		defer func() {
			if r := recover(); r != nil {
				err = fmt.Errorf("panic while bridging: %v", r)
				p.log.Error().Any("panic", r).Str("stack", string(debug.Stack())).Msg("Panic in portal tail")
				if item.matrix != nil {
					p.reportPanic(ctx, item.matrix, err)
				}
			}
			p.complete(ctx, item, err)
			p.ahead.mu.Lock()
			delete(p.ahead.ids, key)
			if sender != "" {
				p.ahead.matrixTails--
			}
			p.ahead.mu.Unlock()
			p.ahead.n.Add(-1)
			<-p.ahead.slots
			p.ahead.wg.Done()
			p.m.wg.Done()
		}()
		err = tail()
	})
}

// settle waits for every tail: after it, the database has every mapping
// of what the portal sent before.
func (p *Portal) settle() {
	if p.ahead.n.Load() > 0 {
		p.ahead.wg.Wait()
	}
}

// pipeline is the room's pipeline to the homeserver, or nil when sends
// are not pipelined.
func (p *Portal) pipeline() *puppets.Pipeline {
	if p.ahead.pipe == nil {
		p.ahead.pipe = p.m.matrix.NewPipeline(p.RoomID)
	}
	return p.ahead.pipe
}

// closePipeline ends the pipeline once no tail uses it.
func (p *Portal) closePipeline() {
	p.settle()
	if p.ahead.pipe != nil {
		p.ahead.pipe.Close()
		p.ahead.pipe = nil
	}
}
