package whatsapp

import (
	"context"
	"runtime/debug"
	"sync"
	"time"

	"github.com/rs/zerolog"

	"github.com/ferrybridge/ferry/bridge/network"
)

// How long the history of one chat may take to bridge, and how long a live
// message waits for it before it goes ahead regardless.
const (
	backfillTimeout = 15 * time.Minute
	gateTimeout     = 2 * time.Minute
)

// historyQueue hands a login's history over to the core, one chat at a
// time, most recent chat first, and keeps each chat's live messages behind
// its history.
//
// The design: a history sync registers every chat it will backfill as
// pending before the whatsmeow handler returns, and a worker goroutine
// then converts and hands over one chat's Backfill after the other (with
// Host.HandleEvent, as its media are fetched lazily). The core's portal
// queue orders everything handed over after a Backfill behind it, so the
// only danger is a live message of a chat whose Backfill has not been
// handed over yet. Such a message waits for that one chat (waitFor): a
// per-chat gate, closed once its Backfill returned from HandleEvent. While
// it waits, its chat jumps to the front of the queue, so the wait is one
// chat's history, not everything ahead of it. A live message for any
// other chat is not held by the gate at all, and no message waits longer
// than gateTimeout: after that it is bridged even if out of order.
//
// Live messages are handled on whatsmeow's sequential node loop (they are
// acknowledged to WhatsApp only once bridged), so that loop does wait for
// a held message; jumping the queue keeps that wait short.
//
// The other way round, a chat's history can come after its live messages:
// whatsmeow acknowledges a history notification at once and dispatches
// the downloaded blob later (RECENT and FULL blobs minutes after linking,
// after a restart of Ferry in between too, or again after the account is
// linked anew), and the core would append that Backfill below the newer
// messages already in the room, as if they were new. So add keeps of a
// chat's history only what is newer than the newest message the login
// has handed over in that chat, which the message keys (msgstore.go)
// record across restarts: a live message is stored before it passes
// waitFor, which takes the lock add holds, so none slips between.
// Normally nothing is left, and the chat is left out without spending
// max_chats. Trimming rather than skipping the chat loses nothing that
// could be placed in order.
//
// The chats queued are also stored (history_store.go) until handed over:
// the blob is gone from WhatsApp once whatsmeow dispatched it, and handing
// a blob's chats over can take many minutes. The login's client loads
// them when it connects (load, before any live message can come, so the
// gate holds for them too) and hands them over once connected (resume),
// in the order they were queued. A chat whose hand-over a stop
// interrupted stays stored and comes again; the core skips the messages
// it bridged already. A client replaced by a new one of the same login
// (linked again) or logged out stops handing over (close); the new client
// loads what is left. Which chats were given history is stored too, for
// good (until a logout), so that max_chats and "once per chat" hold
// across restarts and new links of the account.
//
// A group's room is shared by every login in it. Its newer messages may
// have come through another login, and the core would append older
// messages it has not seen after them. So the history of a group is also
// cut at the newest message any other running login of the connector
// handed over in it (their message keys): when it is queued, and again
// just before its hand-over, as another login's live message waits for no
// gate of this one. What that still misses: a login that is stored but
// not running, a message of another login that comes in the moment
// between that last look and the core's queue, and messages that came
// through nothing of Ferry's. Only the core, which knows the room's
// newest message, could cut those too.
type historyQueue struct {
	cl *Client

	mu sync.Mutex
	// order lists pending chats, the next to hand over first.
	order []network.PortalKey
	chats map[network.PortalKey]*pendingChat
	// seen holds the chats given history, in this run or an earlier one
	// (historyChatStore.given), for max_chats across WhatsApp's several
	// history blobs; a chat gets history once.
	seen    map[network.PortalKey]bool
	running bool
	// loaded: the chats stored by an earlier run are in the queue.
	loaded bool
	// closed: this client hands nothing over any more (replaced or
	// logged out).
	closed bool
	// nextPos is the store position of the next chat queued.
	nextPos int64
}

type pendingChat struct {
	conv    *historyChat
	claimed bool
	done    chan struct{}
}

func newHistoryQueue(cl *Client) *historyQueue {
	return &historyQueue{
		cl:    cl,
		chats: make(map[network.PortalKey]*pendingChat),
		seen:  make(map[network.PortalKey]bool),
	}
}

// room is how many more chats may get history.
func (q *historyQueue) room(limit int) int {
	q.mu.Lock()
	defer q.mu.Unlock()
	return max(0, limit-len(q.seen))
}

// add queues chats (in the order given) while fewer than limit chats had
// history, starts the worker and says how many it queued. Chats that had
// or have history pending already are left out before the room is
// counted: a later blob repeats chats of an earlier one, and they must not
// take the room of the new chats behind them.
//
// The chats are stored under q.mu, before the worker can hand them over
// and delete them: a row written after that would bring a chat's history
// again at the next start. A history sync is rare, so holding up live
// messages for one write is cheap.
func (q *historyQueue) add(ctx context.Context, chats []*historyChat, limit int) int {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.closed {
		return 0
	}
	q.loadLocked(ctx)
	var queued []*historyChat
	for _, hc := range chats {
		if len(q.seen) >= limit {
			break
		}
		if q.seen[hc.portal] || !q.trimToAfterBridged(ctx, hc, append([]network.LoginID{q.cl.id}, q.sharers(hc)...)) {
			continue
		}
		q.seen[hc.portal] = true
		queued = append(queued, hc)
		q.chats[hc.portal] = &pendingChat{conv: hc, done: make(chan struct{})}
		q.order = append(q.order, hc.portal)
	}
	if err := q.cl.conn.historyChats.put(ctx, q.cl.id, q.nextPos, queued); err != nil {
		// Still handed over while Ferry runs; only a stop would lose them.
		zerolog.Ctx(ctx).Err(err).Int("chats", len(queued)).Msg("Failed to store the chats queued for history; a stop now would lose their history")
	}
	q.nextPos += int64(len(queued))
	q.startLocked()
	return len(queued)
}

// load queues the chats stored by an earlier run, once; resume starts
// handing them over. Called when the login's client connects.
func (q *historyQueue) load(ctx context.Context) {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.loadLocked(ctx)
}

// loadLocked is load with q.mu held. The stored chats were queued before
// any in this run, so they go first. A failed read is tried again at the
// next connect or history sync.
func (q *historyQueue) loadLocked(ctx context.Context) {
	if q.loaded || q.closed {
		return
	}
	stored, err := q.cl.conn.historyChats.pending(ctx, q.cl.id)
	if err != nil {
		zerolog.Ctx(ctx).Err(err).Msg("Failed to load the chats still waiting for their history")
		return
	}
	given, err := q.cl.conn.historyChats.given(ctx, q.cl.id)
	if err != nil {
		zerolog.Ctx(ctx).Err(err).Msg("Failed to load the chats given history")
		return
	}
	q.loaded = true
	var first []network.PortalKey
	for _, sc := range stored {
		hc := sc.chat
		q.nextPos = max(q.nextPos, sc.position+1)
		if q.seen[hc.portal] {
			continue
		}
		q.seen[hc.portal] = true
		q.chats[hc.portal] = &pendingChat{conv: hc, done: make(chan struct{})}
		first = append(first, hc.portal)
	}
	if len(first) > 0 {
		q.cl.log.Info().Int("chats", len(first)).Msg("Resuming history left from an earlier run")
		q.order = append(first, q.order...)
	}
	// Those handed over by an earlier run count too; marked after the
	// loop above, which would skip them otherwise.
	for _, portal := range given {
		q.seen[portal] = true
	}
}

// resume starts handing over the chats queued, if any.
func (q *historyQueue) resume() {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.startLocked()
}

// startLocked starts the worker unless it runs or nothing is queued. q.mu
// is held.
func (q *historyQueue) startLocked() {
	if len(q.order) > 0 && !q.running && !q.closed {
		q.running = true
		q.cl.conn.background(q.run)
	}
}

// trimToAfterBridged drops the history of hc that is not newer than the
// chat's newest message logins have handed over already (the message
// keys say, msgstore.go), which the core would place below it, and says
// whether any is left. With this login among them, q.mu is held: a live
// message is stored before it passes waitFor, so one that gets through
// without waiting is seen here. A chat whose newest message cannot be
// learnt keeps its history: a room in the wrong order loses less than
// history never bridged.
func (q *historyQueue) trimToAfterBridged(ctx context.Context, hc *historyChat, logins []network.LoginID) bool {
	newest, ok, err := q.cl.conn.msgs.newestOf(ctx, logins, hc.portal.Chat)
	if err != nil {
		zerolog.Ctx(ctx).Err(err).Stringer("portal", hc.portal).Msg("Failed to learn a chat's newest bridged message; its history may come below it")
	}
	if !ok {
		return true
	}
	// hc.msgs is newest first.
	n := 0
	for n < len(hc.msgs) && time.Unix(int64(hc.msgs[n].GetMessageTimestamp()), 0).After(newest) {
		n++
	}
	if n < len(hc.msgs) {
		q.cl.log.Debug().Stringer("portal", hc.portal).Time("newest_bridged", newest).Int("dropped", len(hc.msgs)-n).
			Msg("Leaving out history older than a message already bridged")
	}
	hc.msgs = hc.msgs[:n]
	return n > 0
}

// sharers are the connector's other running logins that may have handed
// over messages of hc's room: none for a per-login chat (a DM).
func (q *historyQueue) sharers(hc *historyChat) []network.LoginID {
	if hc.portal.Receiver != "" {
		return nil
	}
	return q.cl.conn.otherLogins(q.cl.id)
}

// next claims the chat to hand over now.
func (q *historyQueue) next() (*pendingChat, bool) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if len(q.order) == 0 || q.closed {
		q.running = false
		return nil, false
	}
	key := q.order[0]
	q.order = q.order[1:]
	p := q.chats[key]
	p.claimed = true
	return p, true
}

// finish opens the chat's gate and, if it was handed over, forgets its
// stored history. One whose hand-over a stop interrupted stays stored.
func (q *historyQueue) finish(ctx context.Context, p *pendingChat, handedOver bool) {
	q.mu.Lock()
	delete(q.chats, p.conv.portal)
	q.mu.Unlock()
	close(p.done)
	if !handedOver {
		return
	}
	// Even if Ferry is stopping now: the chat is in Matrix.
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
	defer cancel()
	if err := q.cl.conn.historyChats.delete(ctx, q.cl.id, p.conv.portal.Chat); err != nil {
		// The chat would get its history again at the next start; the
		// core skips what it bridged, so only the work is repeated.
		q.cl.log.Warn().Err(err).Stringer("portal", p.conv.portal).Msg("Failed to forget history handed over")
	}
}

// run hands the queued chats over until none is left, the client is
// closed or Ferry stops; at a stop the chats left are released without
// handing over (their gates open) and stay stored.
func (q *historyQueue) run(ctx context.Context) {
	for {
		p, ok := q.next()
		if !ok {
			return
		}
		q.finish(ctx, p, q.handOverChat(ctx, p))
	}
}

// handOverChat hands one chat's history over and says whether the chat
// is done with (false: a stop came first, and it stays stored). It runs
// outside whatsmeow's handler, whose recover covers live messages, so it
// recovers itself: a panic in converting what the phone sent would end
// the bridge, and again at every start, as the chat stays stored. A chat
// that panics is given up and forgotten, and its user told.
func (q *historyQueue) handOverChat(ctx context.Context, p *pendingChat) (done bool) {
	defer func() {
		if r := recover(); r != nil {
			q.cl.log.Error().Any("panic", r).Str("stack", string(debug.Stack())).Stringer("portal", p.conv.portal).
				Msg("Panic while handing a chat's history over; giving it up")
			q.cl.notifyHistoryGivenUp(ctx, p.conv.chat)
			done = true
		}
	}()
	// Another login may have bridged a newer message of a shared room
	// while the chat waited. Not this login's own: a live one of the chat
	// waits at its gate for this history to go first.
	others := q.sharers(p.conv)
	settled := false
	if ctx.Err() == nil && (len(others) == 0 || q.trimToAfterBridged(ctx, p.conv, others)) {
		settled = q.cl.handOver(ctx, p.conv)
	}
	// A history the core took just before the stop is done with too:
	// kept stored, it would be handed over again at the next start.
	return settled || ctx.Err() == nil
}

// waitFor holds a live event of its chat until the chat's history was
// handed over, or gateTimeout passed. Other chats return at once; a
// message of theirs was stored before (toEvent), so that history coming
// later is not placed below it (trimToAfterBridged).
func (q *historyQueue) waitFor(ctx context.Context, evt network.Event) {
	portal := evt.EventMeta().Portal
	q.mu.Lock()
	p := q.chats[portal]
	if p == nil {
		q.mu.Unlock()
		return
	}
	if !p.claimed {
		// Jump the queue: this chat is wanted now.
		for i, key := range q.order {
			if key == portal {
				copy(q.order[1:i+1], q.order[:i])
				q.order[0] = portal
				break
			}
		}
	}
	q.mu.Unlock()
	timer := time.NewTimer(gateTimeout)
	defer timer.Stop()
	select {
	case <-p.done:
	case <-timer.C:
		zerolog.Ctx(ctx).Warn().Stringer("portal", portal).Msg("History of the chat still not bridged; bridging a live message before it")
	case <-ctx.Done():
	}
}

// close stops handing history over: the login logged out (Logout then
// deletes the stored chats) or was linked again (the new client loads
// them). Live messages waiting for chats not handed over go ahead; a chat
// being handed over finishes.
func (q *historyQueue) close() {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.closed = true
	for _, key := range q.order {
		close(q.chats[key].done)
		delete(q.chats, key)
	}
	q.order = nil
}
