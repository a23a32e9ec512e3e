package portals

import (
	"context"
	"errors"
	"time"

	"maunium.net/go/mautrix/id"

	"github.com/ferrybridge/ferry/puppets"
)

// Notices held through an outage. A notice that an event was not bridged
// (refused by the homeserver, failed in Ferry) or that events were
// dropped is the only trace the user gets of them; when the homeserver
// cannot be reached as it is sent (it is given up after RetryFor), it is
// held and posted once the homeserver is back: tried ResumeAfterOutage
// later, on the portal's goroutine, and again while it cannot go, as the
// report of events lost in an outage is (durable_outage_lost.go). A
// stored event whose notice cannot go stays stored instead
// (reportStoredNotBridged), and is not held here.

// maxHeldNotices bounds the notices a portal holds through one outage;
// past it, the log alone tells of the rest.
const maxHeldNotices = 32

// heldNotice is a notice for user's management room, or for the portal's
// room when user is empty. body is its Markdown, rendered as each try
// posts it (noticeContent). txn is its transaction ID, the same for all
// its tries: a try the stop cut short as the homeserver took it (its
// answer lost) is then answered, at the stop's own try, with the event it
// made, not posted twice; as is a try whose answer an outage lost.
type heldNotice struct {
	user id.UserID
	body string
	txn  string
}

// noticeOrHold posts body, Markdown (noticeContent), in the portal's room (users nil) or in the
// management rooms of users, and holds for later each one the homeserver
// could not be reached for. It returns the other failures; errNoRoom for
// a notice of a roomless portal with nobody to tell.
func (p *Portal) noticeOrHold(ctx context.Context, users []id.UserID, body string) error {
	targets := users
	if targets == nil {
		if p.RoomID == "" {
			return errNoRoom
		}
		targets = []id.UserID{""}
	}
	var errs []error
	for _, user := range targets {
		n := heldNotice{user: user, body: body, txn: newNoticeTxn()}
		err := p.postNoticeTxn(ctx, user, body, n.txn)
		switch {
		case err == nil:
		case errors.Is(err, puppets.ErrUnreachable) && p.mayRetryLater(ctx):
			p.log.Warn().Err(err).Dur("retry_in", ResumeAfterOutage).Msg("Homeserver unreachable; a notice is held for later")
			p.holdNotices([]heldNotice{n})
		case p.cutByStop(ctx):
			p.log.Warn().Err(err).Msg("A notice was cut short by the stop; it is tried once more as Ferry stops")
			p.holdNotices([]heldNotice{n})
		default:
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// holdNotices puts notices, oldest first, before those held already, up
// to maxHeldNotices, and arms the next try.
func (p *Portal) holdNotices(notices []heldNotice) {
	p.durable.lock.Lock()
	defer p.durable.lock.Unlock()
	all := append(append([]heldNotice(nil), notices...), p.durable.notices...)
	for i := range all {
		if all[i].txn == "" {
			all[i].txn = newNoticeTxn()
		}
	}
	if len(all) > maxHeldNotices {
		for _, n := range all[maxHeldNotices:] {
			p.log.Error().Str("notice", n.body).Stringer("user_id", n.user).
				Msg("Too many notices held for an unreachable homeserver; this one is not sent")
		}
		all = all[:maxHeldNotices]
	}
	p.durable.notices = all
	if p.durable.noticeTimer == nil {
		p.durable.noticeTimer = time.AfterFunc(ResumeAfterOutage, p.sendHeldLater)
	}
}

// sendHeldLater queues sendHeld on the portal's goroutine. Once the stop
// has begun, the stop's last try (reportAtStop) posts the notices, and
// the timer leaves them to it.
func (p *Portal) sendHeldLater() {
	p.durable.lock.Lock()
	p.durable.noticeTimer = nil
	p.durable.lock.Unlock()
	if p.m.ctx.Err() != nil {
		return
	}
	// It fails only once the stop has begun (its context is the
	// bridge's), and the stop's try takes over then.
	_ = p.enqueue(p.m.ctx, &queueItem{fn: p.sendHeld})
}

// sendHeld posts the held notices in order; while the homeserver still
// cannot be reached, it holds the rest for the next try.
func (p *Portal) sendHeld(ctx context.Context) error {
	p.durable.lock.Lock()
	held := p.durable.notices
	p.durable.notices = nil
	p.durable.lock.Unlock()
	for i, n := range held {
		err := p.postNoticeTxn(ctx, n.user, n.body, n.txn)
		switch {
		case err == nil:
		case errors.Is(err, puppets.ErrUnreachable) && p.mayRetryLater(ctx):
			p.log.Warn().Err(err).Int("notices", len(held)-i).Dur("retry_in", ResumeAfterOutage).
				Msg("Homeserver still unreachable; held notices are tried later")
			p.holdNotices(held[i:])
			return nil
		case p.cutByStop(ctx):
			p.log.Warn().Err(err).Int("notices", len(held)-i).Msg("Held notices were cut short by the stop; they are tried once more as Ferry stops")
			p.holdNotices(held[i:])
			return nil
		default:
			p.log.Err(err).Str("notice", n.body).Msg("Failed to send a notice held through an outage")
		}
	}
	return nil
}
