package portals

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/rs/zerolog"
	"maunium.net/go/mautrix/id"

	"github.com/ferrybridge/ferry/bridge/network"
	"github.com/ferrybridge/ferry/database"
)

// MaxPendingPerPortal bounds a portal's durable queue. Past it, new events
// are refused and counted, and the room is told how many once the portal
// has caught up: bounded, but never silent.
var MaxPendingPerPortal int64 = 10_000

// backlogBatch is how many stored events a portal loads at a time.
const backlogBatch = 200

// ErrQueueFull is returned by QueueDurable when a portal's queue is full.
var ErrQueueFull = errors.New("portal queue is full")

// durableState is the part of a Portal that tracks its durable queue. The
// lock orders "store, then decide where the event goes" against "find the
// store empty, then leave backlog mode", so no event is stranded.
type durableState struct {
	lock sync.Mutex
	// backlog means: events are in the store that are not in the channel.
	// While it is set, new events go to the store only, so the portal reads
	// them in order after what the channel holds. It changes under lock and
	// is read without it (by the goroutine deciding whether it may end).
	backlog atomic.Bool
	// lastSeq is the newest stored event the portal has bridged (written
	// by tails too, hence atomic).
	lastSeq atomic.Int64
	pending atomic.Int64
	dropped atomic.Int64
	// behind are the events handed to the portal unstored, oldest first
	// (durable_behind.go); guarded by lock.
	behind []*behindEvent
	// waiters hear the outcome of stored events a network waits for, by
	// sequence number (durable_waiting.go); guarded by lock.
	waiters map[int64]chan<- error
	// stalled, resumeFrom, resumeDue and resumeTimer hold the backlog
	// while the homeserver is unreachable (durable_outage.go); set under
	// lock.
	stalled     atomic.Bool
	resumeFrom  int64
	resumeDue   bool
	resumeTimer *time.Timer
	// lost counts the events given up in an outage that could not be
	// kept, still to be reported; lostTimer (under lock) is the next
	// try (durable_outage_lost.go).
	lost      atomic.Int64
	lostTimer *time.Timer
	// lostTry is the room's lost report whose try failed and may have
	// been posted all the same (durable_outage_lost.go); guarded by lock.
	lostTry lostTry
	// lostNotes are the losses not counted yet, by event, since another
	// hand-over of the same event may still bridge it (lost_notes.go).
	lostNotes lostNotes
	// lostUsers are the users whose logins the lost events came through,
	// told in their management rooms while the portal has no room
	// (notice_user.go); guarded by lock.
	lostUsers map[id.UserID]bool
	// notices are the notices held for after an outage, noticeTimer
	// the next try (notice_held.go); guarded by lock.
	notices     []heldNotice
	noticeTimer *time.Timer
	// droppedUsers are the users whose logins the dropped events came
	// through, told in their management rooms while the portal has no
	// room (reportDropped); guarded by lock.
	droppedUsers map[id.UserID]bool
	// passed are the stored events passed over in this run, kept for a
	// start that loads their login (passStored); guarded by lock, and
	// counted by passedN.
	passed  map[int64]bool
	passedN atomic.Int64
	// drainRetry is the wait before the drain is tried again after a
	// read of the store failed, drainTimer the timer that wakes it
	// (durable_drain_retry.go); owned by the portal's goroutine.
	drainRetry time.Duration
	drainTimer *time.Timer
	// held: the portal has events stored before a restart, and their
	// logins may not be loaded yet; its backlog is not drained until
	// HoldDurable's replay clears it, whatever wakes the portal before.
	held atomic.Bool
	// arrivals numbers the remote events handed to the portal in the
	// order they came; inMemory counts the storable events handed over
	// unstored (QueueRemote) that are not done, and while there are
	// some, storedWhile lists the events stored meanwhile, with their
	// numbers, so that the stop stores every event in the order it came;
	// cutShort are those the stop cut short whose networks no longer
	// waited, for the stop to store (durable_stop_queued.go). storedWhile
	// and cutShort are guarded by lock.
	arrivals    atomic.Int64
	inMemory    atomic.Int64
	storedWhile []arrivedRow
	cutShort    []*queueItem
	// misplaced are the events kept through an outage that tails stored
	// last, to be put in their places (durable_outage_place.go); guarded
	// by lock.
	misplaced []*queueItem
	// placeStuck is how long the move of misplaced events has been
	// failing (durable_outage_place_stuck.go); owned by the portal's
	// goroutine.
	placeStuck placeStuck
	// readStuck is how long the reads of the backlog have been failing
	// (durable_read_stuck.go); owned by the portal's goroutine.
	readStuck placeStuck
	// storedLogins are the logins of the events the portal put in the
	// store, in this run or before it (HoldDurable), since it last had
	// none waiting (caughtUp): whom to tell that the store cannot be
	// read while the portal has no room, as the rows that would say it
	// are the ones that cannot be read (durable_read_stuck.go). Guarded
	// by lock.
	storedLogins map[network.LoginID]bool
}

// QueueDurable stores a remote event and hands it to its portal. It never
// blocks on a busy portal: the event waits in the database instead, in
// order, across restarts. An idle portal gets it at once, stored only if
// it is not bridged soon (durable_behind.go). Events that carry functions
// (lazy media) cannot be stored and go through the in-memory queue.
func (m *Manager) QueueDurable(ctx context.Context, login *network.Login, evt network.Event) error {
	p, err := m.Get(ctx, evt.EventMeta().Portal)
	if err != nil {
		return err
	}
	if !network.Persistable(evt) {
		// Nobody waits for its outcome (no result): a failure the
		// network would otherwise hear of is the room's to hear.
		return p.enqueue(ctx, &queueItem{remote: evt, login: login})
	}
	if p.durable.pending.Load() >= MaxPendingPerPortal {
		p.durable.dropped.Add(1)
		p.noteDroppedUser(login)
		return fmt.Errorf("%w (%d events waiting)", ErrQueueFull, MaxPendingPerPortal)
	}
	// The payload is encoded only when the event is stored: an event
	// handed to an idle portal usually never is, and encoding it is JSON
	// work on the way to the homeserver.
	row := &database.RemoteEvent{Portal: p.Key, Login: login.ID, ReceivedAt: time.Now()}
	p.durable.lock.Lock()
	defer p.durable.lock.Unlock()
	arrival := p.durable.arrivals.Add(1)
	if p.handBehindLocked(login, evt, row, arrival) {
		return nil
	}
	if row.Payload, err = network.MarshalEvent(evt); err != nil {
		return err
	}
	if err = p.storeLocked(ctx, evt, row, arrival); err != nil {
		return err
	}
	if p.durable.backlog.Load() {
		return nil
	}
	if !p.tryEnqueue(&queueItem{remote: evt, login: login, seq: row.Seq}) {
		p.durable.backlog.Store(true)
		p.wake()
	}
	return nil
}

// storeLocked stores evt, encoded in row and numbered arrival among the
// portal's events, after the events handed over unstored (they came
// first), and counts it as waiting. The caller holds durable.lock.
func (p *Portal) storeLocked(ctx context.Context, evt network.Event, row *database.RemoteEvent, arrival int64) error {
	p.storeBehindLocked(ctx, nil)
	if err := p.insertLocked(ctx, row); err != nil {
		return err
	}
	p.noteStoredLocked(row.Seq, arrival)
	p.timeStored(evt)
	p.durable.pending.Add(1)
	return nil
}

// insertLocked stores row, and notes its login as one of the portal's
// stored events (storedLogins). The caller holds durable.lock.
func (p *Portal) insertLocked(ctx context.Context, row *database.RemoteEvent) error {
	if err := p.m.db.RemoteEvents.Insert(ctx, row); err != nil {
		return err
	}
	p.noteStoredLoginLocked(row.Login)
	return nil
}

// noteStoredLoginLocked adds login to storedLogins. The caller holds
// durable.lock.
func (p *Portal) noteStoredLoginLocked(login network.LoginID) {
	if p.durable.storedLogins == nil {
		p.durable.storedLogins = make(map[network.LoginID]bool)
	}
	p.durable.storedLogins[login] = true
}

// wake nudges the portal goroutine, starting it if needed, to look at
// its backlog.
func (p *Portal) wake() {
	select {
	case p.wakeup <- struct{}{}:
	default:
	}
	p.kick()
}

// HoldDurable puts the portals with remote events stored before a restart
// in backlog mode, and returns replay, which hands those events to them.
// Call it before any login connects, and replay once the logins are
// loaded (a stored event needs its login): an event a login receives as
// soon as it connects is then stored behind the older ones, not bridged
// ahead of them.
func (m *Manager) HoldDurable(ctx context.Context) (replay func(), err error) {
	rows, err := m.db.RemoteEvents.Pending(ctx)
	if err != nil {
		return nil, fmt.Errorf("load queued remote events: %w", err)
	}
	byPortal := make(map[network.PortalKey][]*database.RemoteEvent)
	for _, row := range rows {
		byPortal[row.Portal] = append(byPortal[row.Portal], row)
	}
	held := make([]*Portal, 0, len(byPortal))
	for key, stored := range byPortal {
		p, err := m.Get(ctx, key)
		if err != nil {
			return nil, err
		}
		p.durable.lock.Lock()
		for _, row := range stored {
			p.noteStoredLoginLocked(row.Login)
		}
		p.durable.pending.Add(int64(len(stored)))
		p.durable.backlog.Store(true)
		p.durable.held.Store(true)
		p.durable.lock.Unlock()
		held = append(held, p)
	}
	return func() {
		for _, p := range held {
			p.durable.held.Store(false)
			p.wake()
		}
		if len(rows) > 0 {
			m.log.Info().Int("events", len(rows)).Int("portals", len(byPortal)).Msg("Replaying queued remote events")
		}
	}, nil
}

// drainBacklog bridges stored events that are not in the channel, oldest
// first, until the store has nothing newer than lastSeq.
// A portal held for the replay does not drain: the work a login hands it
// as it connects would otherwise start the drain while the logins of the
// stored events may still be loading, and each of theirs would be dropped
// as the event of a login that is gone.
func (p *Portal) drainBacklog(ctx context.Context) {
	if p.durable.held.Load() {
		return
	}
	for ctx.Err() == nil {
		// What the tails finish moves lastSeq; read the store after them.
		p.settle()
		if err := p.placeKept(ctx); err != nil {
			// Nothing is bridged out of its order: tried again later,
			// and the room told if it stays so.
			p.placeFailed(ctx)
			p.retryDrainLater(ctx, err)
			return
		}
		p.durable.placeStuck = placeStuck{}
		if !p.resumeIfDue() {
			return
		}
		rows, err := p.m.db.RemoteEvents.ForPortal(ctx, p.Key, p.durable.lastSeq.Load(), backlogBatch)
		if err != nil {
			p.drainReadFailed(ctx, err)
			return
		}
		if len(rows) == 0 {
			p.durable.lock.Lock()
			rows, err = p.m.db.RemoteEvents.ForPortal(ctx, p.Key, p.durable.lastSeq.Load(), backlogBatch)
			if err == nil && len(rows) == 0 {
				p.durable.backlog.Store(false)
			}
			p.durable.lock.Unlock()
			if err != nil {
				p.drainReadFailed(ctx, err)
				return
			}
			if len(rows) == 0 {
				p.drainReadOK()
				return
			}
		}
		p.drainReadOK()
		for _, row := range rows {
			if p.durable.stalled.Load() {
				// The rest waits behind the event the homeserver could
				// not take.
				break
			}
			p.handleStored(ctx, row)
			if p.memberSyncOverdue() {
				p.continueMemberSync(ctx)
			}
		}
	}
}

func (p *Portal) handleStored(ctx context.Context, row *database.RemoteEvent) {
	evt, err := network.UnmarshalEvent(row.Payload)
	login := p.m.dir.Login(row.Portal.Network, row.Login)
	waiter := p.takeWaiter(row.Seq)
	log := p.log.With().Int64("seq", row.Seq).Str("login", string(row.Login)).Logger()
	var reason string
	switch {
	case err != nil:
		// The decoder's error names what did not fit, not the text.
		log.Err(err).Msg("A queued event cannot be decoded; it is not bridged")
		err = fmt.Errorf("decode the queued event: %w", err)
		reason = "Ferry could not read it back from its queue (see the bridge log)"
	case login == nil && p.loginStored(ctx, row):
		// Its login is stored but did not start (its user was told why):
		// the event stays for a start that loads it, late rather than lost.
		log.Warn().Msg("Keeping a queued event of a login that is not running")
		if waiter != nil {
			waiter <- fmt.Errorf("the login %s is not running", row.Login)
		}
		p.passStored(ctx, row.Seq)
		return
	case login == nil:
		log.Warn().Str("event_type", fmt.Sprintf("%T", evt)).Msg("A queued event's login has logged out; it is not bridged")
		err = fmt.Errorf("the login %s is gone", row.Login)
		reason = "the account it came through has logged out of Ferry"
	default:
		p.handle(ctx, &queueItem{remote: evt, login: login, seq: row.Seq, result: waiter})
		return
	}
	if waiter != nil {
		waiter <- err
	}
	if p.reportStoredNotBridged(ctx, row.Seq, login, evt, reason, log) {
		return
	}
	p.finishStored(ctx, row.Seq)
}

// reportStoredNotBridged tells the room that the stored event seq (evt,
// nil if it could not be decoded) will not be bridged, and reports
// whether the event stays stored so that this is tried again: while the
// homeserver cannot be reached, the event waits as any other does
// (durable_outage.go), and when the bridge stops, the next start takes it
// up. Either way the room hears of it once, when the notice goes.
func (p *Portal) reportStoredNotBridged(ctx context.Context, seq int64, login *network.Login, evt network.Event, reason string, log zerolog.Logger) (kept bool) {
	err := p.noticeNotBridged(ctx, login, evt, reason)
	switch {
	case err == nil:
		return false
	case ctx.Err() != nil:
		return true
	case p.keepUntilReachable(ctx, &queueItem{seq: seq}, err):
		log.Warn().Err(err).Dur("resume_in", ResumeAfterOutage).Msg("Homeserver unreachable; a queued event that is not bridged is reported later")
		return true
	case errors.Is(err, errNoRoom):
		log.Error().Msg("A queued event is not bridged, and its portal has no room nor user to say so to")
	default:
		log.Err(err).Msg("Failed to report a queued event that is not bridged")
	}
	return false
}

// finishStored forgets a stored event once it is bridged (or given up).
func (p *Portal) finishStored(ctx context.Context, seq int64) {
	var left int64
	if p.forgetPassed(seq) {
		// Counted out when it was passed; its login has started since.
		p.moveLastSeqOnly(seq)
		left = p.durable.pending.Load()
	} else {
		left = p.moveLastSeq(seq)
	}
	if err := p.m.db.RemoteEvents.Delete(ctx, seq); err != nil && ctx.Err() == nil {
		p.log.Err(err).Int64("seq", seq).Msg("Failed to delete bridged event from the queue")
	}
	if left <= 0 {
		p.caughtUp(ctx)
	}
}

// passStored goes past a stored event that is kept for a later start: it
// no longer counts as waiting in this run, and the next start replays it.
// It is counted out once: a resume after an outage (durable_outage.go)
// may read it again, when an event before it was kept.
func (p *Portal) passStored(ctx context.Context, seq int64) {
	p.durable.lock.Lock()
	again := p.durable.passed[seq]
	if !again {
		if p.durable.passed == nil {
			p.durable.passed = make(map[int64]bool)
		}
		p.durable.passed[seq] = true
		p.durable.passedN.Add(1)
	}
	p.durable.lock.Unlock()
	if again {
		p.moveLastSeqOnly(seq)
		return
	}
	if p.moveLastSeq(seq) <= 0 {
		p.caughtUp(ctx)
	}
}

// forgetPassed reports whether seq was passed in this run, and forgets
// it. Without a lock while nothing was passed, as is usual.
func (p *Portal) forgetPassed(seq int64) bool {
	if p.durable.passedN.Load() == 0 {
		return false
	}
	p.durable.lock.Lock()
	defer p.durable.lock.Unlock()
	if !p.durable.passed[seq] {
		return false
	}
	delete(p.durable.passed, seq)
	p.durable.passedN.Add(-1)
	return true
}

// moveLastSeq records seq as bridged (or passed) and returns how many
// events are still waiting.
func (p *Portal) moveLastSeq(seq int64) int64 {
	p.moveLastSeqOnly(seq)
	return p.durable.pending.Add(-1)
}

// moveLastSeqOnly records seq as bridged (or passed), counting nothing out.
func (p *Portal) moveLastSeqOnly(seq int64) {
	for last := p.durable.lastSeq.Load(); seq > last && !p.durable.lastSeq.CompareAndSwap(last, seq); {
		last = p.durable.lastSeq.Load()
	}
}

// loginStored says whether row's login is still stored, though not
// running: a network that could not load it at this start. A login that
// logged out is gone from the store, and its events with it.
func (p *Portal) loginStored(ctx context.Context, row *database.RemoteEvent) bool {
	stored, err := p.m.db.Logins.Get(ctx, row.Portal.Network, row.Login)
	if err != nil {
		// Unknown: keep it rather than lose it.
		p.log.Err(err).Str("login", string(row.Login)).Msg("Failed to look up the login of a queued event")
		return true
	}
	return stored != nil
}

// caughtUp follows the last waiting event's end (bridged, given up or
// passed): the logins of the stored events are forgotten, and the room
// is told of the events refused while the queue was full.
func (p *Portal) caughtUp(ctx context.Context) {
	p.forgetStoredLogins()
	p.reportDropped(ctx)
}

// forgetStoredLogins empties storedLogins while no event waits: a user
// whose events were all bridged long ago, and who may have left the chat
// since, has none held up by a read of the store that fails later. An
// event passed over for a later start stays stored, but is behind the
// drain (lastSeq). Checked under lock, where an event is stored and
// counted as waiting at once, without a read of the store.
func (p *Portal) forgetStoredLogins() {
	p.durable.lock.Lock()
	defer p.durable.lock.Unlock()
	if p.durable.pending.Load() <= 0 {
		p.durable.storedLogins = nil
	}
}

// reportDropped tells the room how many events were refused while the
// queue was full; a portal that has no room tells the users whose logins
// they came through, in their management rooms (notice_user.go).
func (p *Portal) reportDropped(ctx context.Context) {
	n := p.durable.dropped.Swap(0)
	if n == 0 {
		return
	}
	users := p.takeDroppedUsers()
	zerolog.Ctx(ctx).Error().Int64("dropped", n).Msg("Events were dropped while the queue was full")
	net := p.m.dir.NetworkName(p.Key.Network)
	if p.RoomID == "" {
		net += " in " + p.roomlessChat() + ","
	}
	body := fmt.Sprintf("⚠️ %d messages from %s could not be bridged: too many were waiting while Matrix was unreachable.", n, net)
	if n == 1 {
		body = fmt.Sprintf("⚠️ A message from %s could not be bridged: too many were waiting while Matrix was unreachable.", net)
	}
	if p.RoomID != "" {
		users = nil // the room's notice
	}
	// A notice the homeserver cannot take now is held for after the
	// outage (notice_held.go): the count is not kept anywhere else.
	err := p.noticeOrHold(ctx, users, body)
	switch {
	case err == nil:
	case errors.Is(err, errNoRoom):
		p.log.Error().Int64("dropped", n).Msg("Events were dropped, and the portal has no room nor user to say so to")
	default:
		p.log.Err(err).Int64("dropped", n).Msg("Failed to report dropped events")
	}
}
