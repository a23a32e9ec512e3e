package puppets

import (
	"context"
	"net/http"
	"time"

	"maunium.net/go/mautrix/appservice"
	"maunium.net/go/mautrix/event"
	"maunium.net/go/mautrix/id"
)

// A pipelined send refused as forbidden, its ghost out of the room
// behind Ferry's back, is sent once more after the ghost has joined again
// (matrix_rejoin.go), through the ordinary client. The room's sends given
// to the pipeline meanwhile must not overtake that retry: once the ghost
// is back in they would be taken at once, and the retried event would
// land after them. So the pipeline writes no new request from the moment
// it reads such a refusal until the send's caller has dealt with it (the
// join and the retry, or the finding that there is nothing to retry):
// they wait in line, as they wait behind a resend, and follow in order,
// the first alone, as after an outage, since it may be refused in turn.
// A send through the ordinary client waits for the retry the same way,
// since it waits for the sends before it to finish (sendTurn).
//
// What was written before the refusal was read cannot be held: a send of
// another sender written behind the refused one, in the same round trip,
// is taken before the retry. That is the order the homeserver gave, and
// the one case left in which a refusal changes it.

type refusalHoldKey struct{}

// refusalHold is what a pipelined send tells its pipeline: whose send it
// is, and what to call when it holds the next requests for its refusal.
type refusalHold struct {
	user id.UserID
	held func()
}

// withRefusalHold has the pipeline call held, instead of writing the
// next requests, when it reads a 403 answer to user's request made with
// ctx; the caller then deals with the refusal (retryRefused, with
// joiningRefused) and calls refusalDealtWith once per call.
func withRefusalHold(ctx context.Context, user id.UserID, held func()) context.Context {
	return context.WithValue(ctx, refusalHoldKey{}, refusalHold{user: user, held: held})
}

func refusalHoldOf(ctx context.Context) refusalHold {
	h, _ := ctx.Value(refusalHoldKey{}).(refusalHold)
	return h
}

// holdForRefusalLocked holds the requests that come after pr, answered
// with resp, if resp is a refusal its caller will deal with. p.mu is
// held.
//
// The refused ghost's own sends given from then on still go until its
// join again begins (joiningRefused), while nothing waits before them:
// it is out of the room, so they are refused too and retried after this
// one, in order. Held, they would wait for a join that may be waiting
// for the homeserver to refuse the sends written before them.
func (p *Pipeline) holdForRefusalLocked(pr *pipedRequest, resp *http.Response) {
	if resp.StatusCode != http.StatusForbidden || pr.abandoned || pr.finished {
		return
	}
	h := refusalHoldOf(pr.req.Context())
	if h.held == nil {
		return
	}
	if p.passing == nil {
		p.passing = make(map[id.UserID]bool)
		p.joining = make(map[id.UserID]bool)
	}
	p.refusing++
	if !p.joining[h.user] {
		p.passing[h.user] = true
	}
	// The requests behind pr that are not written yet (waiting behind a
	// probe or a resend) are held as well: written, they would be taken
	// before the retry as surely as a new one.
	behind := false
	for _, w := range p.waiting {
		if w == pr {
			behind = true
		} else if behind && w.conn == nil && !w.abandoned && !w.finished {
			w.afterRefusal = true
		}
	}
	h.held()
}

// waitsForRefusalLocked says whether a new request of user is to wait
// for the refusals being dealt with. A refused ghost's own send goes only
// while nothing waits before it: it must not overtake a send it came
// after (and the retry of its refusal would wait for that send to
// finish, which waits for the retry). p.mu is held.
func (p *Pipeline) waitsForRefusalLocked(user id.UserID) bool {
	if p.refusing == 0 {
		return false
	}
	if !p.passing[user] {
		return true
	}
	for _, pr := range p.waiting {
		if pr.afterRefusal {
			return true
		}
	}
	return false
}

// joiningRefused says that user, one of whose sends was refused, is
// about to be joined again (or has been, for another of its sends): its
// sends wait too from now on, or one might be taken before the retry.
func (p *Pipeline) joiningRefused(user id.UserID) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.refusing == 0 {
		return
	}
	delete(p.passing, user)
	p.joining[user] = true
}

// refusalDealtWith lets the requests held behind n refusals go, once no
// other refusal holds them.
func (p *Pipeline) refusalDealtWith(n int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.refusing -= n; p.refusing > 0 {
		return
	}
	p.refusing = 0
	clear(p.passing)
	clear(p.joining)
	waiting := false
	for _, pr := range p.waiting {
		if pr.afterRefusal {
			pr.afterRefusal = false
			waiting = waiting || (pr.conn == nil && !pr.abandoned)
		}
	}
	if waiting && !p.retrying && p.probe == nil && !p.closed {
		// Written in order by a resend; a new request waits behind them
		// (retrying holds it). The first goes alone, as after an outage,
		// and the others once it is answered: it may be refused in turn
		// (ghosts kicked together), and the ones written behind it before
		// its refusal is read could not be held for its retry.
		p.retrying = true
		p.careful = true
		go p.resend()
	}
}

// holdBehindUnreachable, for a send through the ordinary client (a
// refused send's join again or retry, or any send once pipelining is
// off) given up because the homeserver could not be reached, does what
// giveUp does for a pipelined send given up so: its portal keeps it and
// sends it again later, so the requests held for its refusal, which came
// after it, are failed with errHeldBehind (to be kept behind it) rather
// than let go ahead of it by refusalDealtWith, and new requests, and
// sends through the ordinary client (sendInTurn), are refused until the
// portal resumes.
func (p *Pipeline) holdBehindUnreachable() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if !p.held {
		p.log.Warn().Msg("A send was given up for an unreachable homeserver; holding the room's next sends until the portal resumes")
	}
	p.held = true
	for _, w := range append([]*pipedRequest(nil), p.waiting...) {
		if w.afterRefusal && w.conn == nil && !w.abandoned {
			p.finishLocked(w, nil, errHeldBehind)
			p.unprobeLocked(w)
		}
	}
}

// retryRefused sends an event once more through the ordinary client if
// its send, refused with err, was refused because its ghost was out of
// the room and the ghost has been joined again (rejoinRefused). handled
// says whether evtID and retryErr are the send's outcome: retried, or
// failed as unreachable because the join could not be made; if not, the
// send's outcome is err.
//
// joining, if not nil, is called before the ghost is joined again
// (rejoinRefused).
func (m *Matrix) retryRefused(ctx context.Context, intent *appservice.IntentAPI, room id.RoomID, evtType event.Type, content any, ts time.Time, txnID string, err error, mark rejoinMark, joining func()) (evtID id.EventID, retryErr error, handled bool) {
	if ctx.Err() != nil {
		return "", nil, false
	}
	retry, failed := m.rejoinRefused(ctx, intent, room, err, mark, joining)
	if retry {
		// The events after it in the room's order that were written
		// before its refusal came back have been taken meanwhile; placing
		// it after them beats losing it.
		evtID, retryErr = m.sendMessage(ctx, intent, room, evtType, content, ts, txnID)
		return evtID, retryErr, true
	}
	if failed != nil {
		return "", failed, true
	}
	return "", nil, false
}
