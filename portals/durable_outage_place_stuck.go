package portals

import (
	"context"
	"fmt"
	"time"

	"maunium.net/go/mautrix/id"
)

// A move of kept events that keeps failing. placeKept's move fails on the
// database failures that heal (a restart, a lock held too long), and the
// drain waits them out (retryDrainLater), bridging nothing meanwhile. But
// a store that can be read and not written (a full disk, an SQLite file
// made read-only) never heals by itself: the portal's backlog stood still
// for as long as Ferry ran, and only the log said why. So the room is
// told, once, when the move has failed at two tries a ResumeAfterOutage
// apart with the drain standing where it stood (the rule the lost-events
// report uses for a stuck backlog, lost_notes.go). A move that works ends
// the episode; a later one is told again.

// placeStuck is where a failing move left the drain; also where failing
// reads of the backlog left it (durable_read_stuck.go), told by the same
// rule.
type placeStuck struct {
	// since is when the move failed first with the drain at seq; zero
	// while it has not failed.
	since time.Time
	seq   int64
	// told: the room heard of this episode. Kept in memory only, on
	// purpose: after a restart a queue still stuck is told once more.
	// Stored, it would have to be written to (and read from) the very
	// database that is failing here, and would be lost or wrong just
	// when it matters; and a restart is often what the operator tried
	// to mend it, so that the room hears the restart did not help is
	// news, not a repeat. It comes once an episode, and only after
	// failures a ResumeAfterOutage apart, so a bridge restarting sooner
	// than that over and over says nothing more.
	told bool
	// toldUsers: of a portal without a room, the users who heard of
	// this episode in their management rooms (durable_read_stuck.go),
	// so that a notice that reached some of them and not others is
	// tried again for the others only.
	toldUsers map[id.UserID]bool
}

// placeFailed notes that the move of the kept events failed again, and
// tells the room once it has been failing for a while without the drain
// moving. On the portal's goroutine.
func (p *Portal) placeFailed(ctx context.Context) {
	if ctx.Err() != nil {
		return // the stop tries the move itself (keepQueued)
	}
	s := &p.durable.placeStuck
	at := p.durable.lastSeq.Load()
	if !s.failedAgain(at) {
		return
	}
	p.log.Error().Int64("after_seq", at).Time("since", s.since).
		Msg("The events kept through an outage could not be put in their order for a while; telling the room that its messages are held up")
	net := p.m.dir.NetworkName(p.Key.Network)
	body := fmt.Sprintf("⚠️ Messages from %s are held up: Ferry cannot read or write its database to put messages it kept through a Matrix outage in the order they came, and bridges none here until it can (see the bridge log).", net)
	// Events are kept only for a room (they were sent ahead to it), so
	// the portal has one.
	if err := p.noticeOrHold(ctx, nil, body); err != nil {
		// Neither posted nor held (a refusal, not an outage): the room
		// has not heard, so the move's next failure tries again.
		p.log.Err(err).Msg("Failed to tell the room that its messages are held up by the database; trying again at the next failed move")
		return
	}
	s.told = true
}

// failedAgain notes one more failure with the drain at seq at, and says
// whether the room is to be told now: the failures have gone on for
// ResumeAfterOutage with the drain standing at at, and the room has not
// heard of this episode. A failure with the drain elsewhere starts a new
// episode.
func (s *placeStuck) failedAgain(at int64) bool {
	if s.since.IsZero() || s.seq != at {
		*s = placeStuck{since: time.Now(), seq: at}
		return false
	}
	return !s.told && time.Since(s.since) >= ResumeAfterOutage
}
