package portals

import (
	"fmt"
	"sync"
	"sync/atomic"

	"github.com/ferrybridge/ferry/bridge/network"
)

// Losses noted by event. A network that waits for an event
// (Host.HandleEvent) may stop waiting while the event is still queued,
// and hand the same event over again: WhatsApp, whose handler timed out,
// gets it redelivered, up to three attempts, each a new item in the
// portal. An earlier attempt the homeserver could not take, whose network
// had left, is lost only if no later one bridges it. So a loss is noted
// by the event's hand-over key, and the note is taken back when an item
// with the same key is bridged, kept, or has its failure told; the report
// (reportLost) leaves out a note while an item of its key is still on its
// way in memory, or while stored events wait (one may be a later
// attempt, stored behind the backlog). WhatsApp's stand-in for a message
// it gave up on carries the message's ID, so it takes the note back too:
// the room is not told twice.
//
// Waiting for the stored events is bounded: a backlog that does not drain
// (its login never loads, or the store cannot be read) would otherwise
// hold the note until the stop. Each try of the report that holds notes
// back for the store notes where the drain stands (lastSeq); a try that
// finds it where the previous one left it (a ResumeAfterOutage later),
// with no outage holding it, finds the backlog stuck, and reports them.
// A note is counted once, however it is reported, and a hand-over that
// bridges the event after that finds no note to take back.

// lostNotes are the losses noted by key and the in-memory hand-overs on
// their way, by key; guarded by lock.
type lostNotes struct {
	lock    sync.Mutex
	notes   map[string]*network.Login
	handing map[string]int
	// drainSeq is where the backlog's drain stood (durable.lastSeq) at
	// the last try that held notes back for the store, if drainSeen.
	drainSeq  int64
	drainSeen bool
	// n is len(notes), read without the lock so that an item completing
	// when nothing is noted pays nothing.
	n atomic.Int64
}

// handoverKey names evt so that another hand-over of the same remote
// event has the same key; "" for events no loss is reported of. Edits and
// reactions have no ID of their own: their target, sender and time stand
// for one (a redelivery carries the same).
func handoverKey(evt network.Event) string {
	switch e := evt.(type) {
	case *network.Message:
		return "m\x00" + string(e.ID)
	case *network.Edit:
		if e.ID != "" { // the network's own (remote_edit_once.go)
			return "e\x00" + string(e.Target) + "\x00id\x00" + string(e.ID)
		}
		return fmt.Sprintf("e\x00%s\x00%s\x00%d", e.Target, e.Sender.User, e.Timestamp.UnixNano())
	case *network.Reaction:
		return fmt.Sprintf("r\x00%s\x00%s\x00%s\x00%s\x00%d", e.Target.ID, e.Target.Part, e.Sender.User, e.Emoji, e.Timestamp.UnixNano())
	case *network.ReactionRemove:
		return fmt.Sprintf("u\x00%s\x00%s\x00%s\x00%s\x00%d", e.Target.ID, e.Target.Part, e.Sender.User, e.Emoji, e.Timestamp.UnixNano())
	case *network.Redaction:
		if e.Part != "" { // one part only: not the message's deletion
			return "d\x00" + string(e.Target) + "\x00" + string(e.Part)
		}
		return "d\x00" + string(e.Target)
	}
	return ""
}

// startHandover counts item, a remote event a network waits for in
// memory, as on its way until it completes (settleHandover).
func (p *Portal) startHandover(item *queueItem) {
	if item.key = handoverKey(item.remote); item.key == "" {
		return
	}
	l := &p.durable.lostNotes
	l.lock.Lock()
	if l.handing == nil {
		l.handing = make(map[string]int)
	}
	l.handing[item.key]++
	l.lock.Unlock()
}

// settleHandover ends item's count as on its way, and, when resolved
// (its event bridged, kept, or its failure told), takes back a loss
// noted for an earlier hand-over of the same event.
func (p *Portal) settleHandover(item *queueItem, resolved bool) {
	l := &p.durable.lostNotes
	if item.key == "" && (!resolved || l.n.Load() == 0) {
		return
	}
	key := item.key
	if key == "" {
		key = handoverKey(item.remote)
	}
	l.lock.Lock()
	defer l.lock.Unlock()
	if item.key != "" {
		if l.handing[key]--; l.handing[key] <= 0 {
			delete(l.handing, key)
		}
		item.key = "" // counted once, however it ends
	}
	if _, noted := l.notes[key]; resolved && noted {
		delete(l.notes, key)
		l.n.Add(-1)
		p.log.Debug().Msg("A remote event noted as lost in an outage was handed over again and is not lost")
	}
}

// noteLost notes evt, which came through login, as lost; false when it
// has no key, and is to be counted at once.
func (p *Portal) noteLost(login *network.Login, evt network.Event) bool {
	key := handoverKey(evt)
	if key == "" {
		return false
	}
	l := &p.durable.lostNotes
	l.lock.Lock()
	defer l.lock.Unlock()
	if l.notes == nil {
		l.notes = make(map[string]*network.Login)
	}
	if _, noted := l.notes[key]; !noted {
		l.n.Add(1)
	}
	l.notes[key] = login
	return true
}

// takeLostNotes counts the noted losses into the report's count and
// users, and reports whether some are left for a later report: while
// events wait in the store or an item of their key is on its way, since
// a later hand-over may yet bridge them. At a stop (later is false) no
// later report comes, and every note is counted.
func (p *Portal) takeLostNotes(later bool) (left bool) {
	l := &p.durable.lostNotes
	if l.n.Load() == 0 {
		return false
	}
	waitForStore := later && p.durable.backlog.Load()
	var logins []*network.Login
	l.lock.Lock()
	stuck := waitForStore && p.backlogStuckLocked()
	if stuck {
		waitForStore = false
	}
	heldForStore := false
	for key, login := range l.notes {
		if later && l.handing[key] > 0 {
			left = true
			continue
		}
		if waitForStore {
			left, heldForStore = true, true
			continue
		}
		delete(l.notes, key)
		l.n.Add(-1)
		logins = append(logins, login)
	}
	// The next wait for the store starts afresh.
	l.drainSeen = heldForStore
	stuckAt := l.drainSeq
	l.lock.Unlock()
	if stuck && len(logins) > 0 {
		p.log.Warn().Int("events", len(logins)).Int64("after_seq", stuckAt).
			Msg("The stored events have not moved since the last try; remote events lost in an outage are reported without waiting for them")
	}
	for _, login := range logins {
		p.noteLostUser(login)
	}
	p.durable.lost.Add(int64(len(logins)))
	return left
}

// backlogStuckLocked reports whether the backlog's drain stands where the
// previous try that held notes back for it left it, with no outage
// holding it (that one resumes by itself), and notes where it stands.
// The caller holds lostNotes.lock.
func (p *Portal) backlogStuckLocked() bool {
	l := &p.durable.lostNotes
	at := p.durable.lastSeq.Load()
	stuck := l.drainSeen && l.drainSeq == at && !p.durable.stalled.Load()
	l.drainSeq = at
	return stuck
}
