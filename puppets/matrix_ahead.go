package puppets

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"maunium.net/go/mautrix"
	"maunium.net/go/mautrix/appservice"
	"maunium.net/go/mautrix/event"
	"maunium.net/go/mautrix/id"
)

// EnablePipelining lets rooms pipeline their sends (see Pipeline) to the
// homeserver at address. Without a proxy in the way only: a proxy from
// the environment is used by the ordinary client, and a room's requests
// must all take one path to keep their order.
func (m *Matrix) EnablePipelining(address string) error {
	req, err := http.NewRequest(http.MethodGet, address, nil)
	if err != nil {
		return fmt.Errorf("homeserver address: %w", err)
	}
	if proxy, err := http.ProxyFromEnvironment(req); err != nil || proxy != nil {
		m.Log.Info().Msg("Not pipelining sends: the homeserver is reached through a proxy")
		return nil
	}
	if _, err = pipelineDialer(address, nil); err != nil {
		return err
	}
	m.pipelineBase = address
	return nil
}

// NewPipeline returns a pipeline for one room, or nil when sends are not
// pipelined.
func (m *Matrix) NewPipeline(room id.RoomID) *Pipeline {
	if m.pipelineBase == "" || m.pipelineOff.Load() {
		return nil
	}
	p, err := NewPipeline(m.pipelineBase, nil, m.Log.With().Stringer("room_id", room).Logger())
	if err != nil {
		m.Log.Err(err).Msg("Failed to make a send pipeline")
		return nil
	}
	return p
}

// SendMessageAhead starts sending a message event through pipe and
// returns once the event has its place in the room's order, before the
// homeserver answers; wait returns the event ID once it has. The next
// event of the room may be sent as soon as SendMessageAhead returns.
// Retries happen inside the pipeline, in order, for up to RetryFor. The
// intent must already be in the room.
//
// Once the homeserver address has redirected a pipelined send, sends are
// no longer pipelined (pipeline_redirect.go): SendMessageAhead then sends
// through the ordinary client and returns once the homeserver answered.
//
// A ghost's send refused as forbidden is tried once more, through the
// ordinary client, after the ghost has joined again (matrix_rejoin.go),
// before the room's later sends go (pipeline_refused.go).
//
// The send holds a mark of its ghost's rejoins (matrix_rejoin.go) from
// before it goes out until its outcome is known, refusal dealt with; it
// lets go of it itself then, not in wait: a caller that never calls wait
// (its tail panicked halfway through its sends) must not leave the
// ghost's entry behind for good.
func (m *Matrix) SendMessageAhead(ctx context.Context, pipe *Pipeline, intent *appservice.IntentAPI, room id.RoomID, evtType event.Type, content any, ts time.Time, txnID string) (wait func() (id.EventID, error)) {
	mark := m.takeRejoinMark(room, intent.UserID)
	return m.sendMessageAhead(ctx, pipe, intent, room, evtType, content, ts, txnID, mark)
}

// sendMessageAhead is SendMessageAhead's send; it lets go of mark once
// the send's outcome is known.
func (m *Matrix) sendMessageAhead(ctx context.Context, pipe *Pipeline, intent *appservice.IntentAPI, room id.RoomID, evtType event.Type, content any, ts time.Time, txnID string, mark rejoinMark) (wait func() (id.EventID, error)) {
	turn, mine := pipe.sendTurn()
	if m.pipelineOff.Load() {
		evtID, err := m.sendInTurnRetried(ctx, pipe, turn, intent, room, evtType, content, ts, txnID, mark)
		m.releaseRejoinMark(mark)
		passTurn(turn, mine)
		return func() (id.EventID, error) { return evtID, err }
	}
	client := m.AS.NewMautrixClient(intent.UserID)
	client.Client = pipe.httpClient()
	req := mautrix.ReqSendEvent{TransactionID: txnID}
	if !ts.IsZero() {
		req.Timestamp = ts.UnixMilli()
	}
	placed := make(chan struct{})
	parent := ctx
	// The join again and the retry of a refused send count in its
	// RetryFor (retry_budget.go).
	refusedCtx := withRetryBudget(parent, time.Now(), m.RetryFor)
	ctx, cancel := context.WithTimeout(ctx, m.RetryFor)
	ctx = withPlaced(ctx, func() { close(placed) })
	var refusals atomic.Int32
	ctx = withRefusalHold(ctx, intent.UserID, func() { refusals.Add(1) })
	type outcome struct {
		resp *mautrix.RespSendEvent
		err  error
		// final: err is the outcome of a send through the ordinary
		// client or names a redirect, and is given as it is.
		final bool
	}
	result := make(chan outcome, 1)
	m.workers.Go(func() {
		defer cancel()
		// Let go of once the outcome is known, below, or else however
		// this ends.
		releaseMark := sync.OnceFunc(func() { m.releaseRejoinMark(mark) })
		defer releaseMark()
		o := outcome{}
		o.resp, o.err = client.SendMessageEvent(ctx, room, evtType, content, req)
		if n := refusals.Load(); n > 0 {
			// Refused: the pipeline holds the room's later sends until
			// this one is retried, after the sends before it have
			// finished (and been retried, if they were refused too).
			select {
			case <-turn:
			case <-parent.Done():
			}
			joining := func() { pipe.joiningRefused(intent.UserID) }
			if pipe.Held() {
				// A send before it was given up as unreachable, and is
				// kept by its portal to be sent again once it resumes:
				// retried now, through the ordinary client, this one
				// would be taken ahead of it. Kept behind it instead,
				// as sendInTurn keeps a send whose turn comes then.
				o = outcome{err: errSendHeldBehind, final: true}
			} else if evtID, err, ok := m.retryRefused(refusedCtx, intent, room, evtType, content, ts, txnID, o.err, mark, joining); ok {
				// Its portal keeps it for later, if unreachable: what
				// waited for it is kept behind it, not let go ahead.
				holdIfUnreachable(pipe, err)
				o = outcome{err: err, final: true}
				if err == nil {
					o.resp = &mautrix.RespSendEvent{EventID: evtID}
				}
			}
			pipe.refusalDealtWith(int(n))
		}
		if status, target, ok := redirectOf(o.err); ok {
			m.pipelineRedirected(status, target)
			o.final = true
			if followable(status) {
				// Never taken by the homeserver: sent again, in turn,
				// with the same transaction ID.
				evtID, err := m.sendInTurnRetried(parent, pipe, turn, intent, room, evtType, content, ts, txnID, mark)
				o.err = err
				if err == nil {
					o.resp = &mautrix.RespSendEvent{EventID: evtID}
				}
			} else {
				o.err = redirectedSendError(status, target, o.err)
			}
		}
		releaseMark()
		result <- o
		// The next send's turn comes once this one and all before it
		// are done.
		<-turn
		close(mine)
	})
	var early *outcome
	select {
	case <-placed:
	case o := <-result:
		// Failed before reaching the pipeline (the content did not encode).
		early = &o
	}
	return func() (id.EventID, error) {
		o := early
		if o == nil {
			r := <-result
			o = &r
		}
		if o.err != nil {
			if o.final {
				return "", o.err
			}
			if parent.Err() == nil && aheadUnreachable(o.err) {
				return "", fmt.Errorf("send event: %w: %w", ErrUnreachable, o.err)
			}
			return "", fmt.Errorf("send event: %w", o.err)
		}
		return o.resp.EventID, nil
	}
}

// holdIfUnreachable holds pipe, as the pipeline holds itself when it
// gives a send up (giveUp), when err says that a send of its room through
// the ordinary client was given up because the homeserver could not be
// reached: its portal keeps that send to send it again later, and may
// hand over the next before it has heard of this; sendInTurn refuses
// that one (Held), to be kept behind it, until the portal resumes.
func holdIfUnreachable(pipe *Pipeline, err error) {
	if errors.Is(err, ErrUnreachable) {
		pipe.holdBehindUnreachable()
	}
}

// aheadUnreachable says whether a pipelined send failed because the
// homeserver could not be reached. The pipeline answers only final
// outcomes, retrying the rest (no connection, 429, 5xx) until RetryFor is
// over; then it gives the request's last answer, which is classified as
// Retry classifies its last error, or, if it had none, the context's
// error. An event held behind one given up so (errHeldBehind) is kept
// with it.
func aheadUnreachable(err error) bool {
	if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, errHeldBehind) {
		return true
	}
	status, ok := answerStatus(err)
	return ok && unreachableStatus(status)
}

// sendInTurnRetried sends through the ordinary client in the room's turn
// (sendInTurn); a send refused as forbidden is retried once its ghost has
// joined again, before the next send's turn comes, and one that met an
// outage holds the room's later sends behind it. The send, the join again
// and the retry share one RetryFor (retry_budget.go).
func (m *Matrix) sendInTurnRetried(ctx context.Context, pipe *Pipeline, turn <-chan struct{}, intent *appservice.IntentAPI, room id.RoomID, evtType event.Type, content any, ts time.Time, txnID string, mark rejoinMark) (id.EventID, error) {
	ctx = withRetryBudget(ctx, time.Time{}, m.RetryFor)
	evtID, err := m.sendInTurn(ctx, pipe, turn, intent, room, evtType, content, ts, txnID)
	if err == nil {
		return evtID, nil
	}
	if retriedID, retryErr, ok := m.retryRefused(ctx, intent, room, evtType, content, ts, txnID, err, mark, nil); ok {
		evtID, err = retriedID, retryErr
	}
	holdIfUnreachable(pipe, err)
	return evtID, err
}
