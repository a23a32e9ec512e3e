package puppets

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"maunium.net/go/mautrix"
	"maunium.net/go/mautrix/appservice"
	"maunium.net/go/mautrix/event"
	"maunium.net/go/mautrix/id"
)

// A homeserver address that redirects. A front proxy that sends
// http://hs to https://hs (or to another path) is a set-up mistake, but a
// common one, and the ordinary client copes with it: it follows the
// redirect. A pipeline cannot: the request after a redirect would take a
// second place in the room's order, behind what was sent since (so its
// client follows none, see NewPipeline). So the first redirected send
// switches pipelining off for the homeserver, with one warning that names
// the redirect and the fix (set the homeserver address to its target;
// for a redirect a send cannot follow, none if the ordinary client has
// warned of it already),
// and from then on sends go through the ordinary client. The sends that
// met the redirect are sent again through it, each after the one before
// has finished, so that the room's order holds across the switch.
//
// A 301, 302 or 303 cannot be followed for a send at all: a client
// follows them with GET, not the PUT a send is. Such a send fails with an
// error that names the redirect and the fix; pipelining is switched off
// all the same, since the pipeline cannot help either.

// sendTurn returns the turn of a send given to pipe: done is closed once
// every send given to pipe before it has finished, and the send closes
// mine once it has finished itself (after done).
func (pipe *Pipeline) sendTurn() (done <-chan struct{}, mine chan struct{}) {
	pipe.mu.Lock()
	defer pipe.mu.Unlock()
	prev := pipe.lastTurn
	if prev == nil {
		prev = make(chan struct{})
		close(prev)
	}
	mine = make(chan struct{})
	pipe.lastTurn = mine
	return prev, mine
}

// passTurn closes mine, the turn of a send that has finished or given
// up, once done (the turn of the sends before it) is closed too: a send
// whose context ended while it waited for done has left without being
// sent, but the sends before it may still be on their way, and the next
// one must wait for them, not start at once and overtake them. The
// caller does not wait for that.
func passTurn(done <-chan struct{}, mine chan struct{}) {
	select {
	case <-done:
		close(mine)
	default:
		go func() {
			<-done
			close(mine)
		}()
	}
}

// redirectOf returns the status and target of a redirect that err
// carries as its answer; ok is false for any other error.
func redirectOf(err error) (status int, target string, ok bool) {
	var httpErr mautrix.HTTPError
	if !errors.As(err, &httpErr) || httpErr.Response == nil {
		return 0, "", false
	}
	status = httpErr.Response.StatusCode
	if status < 300 || status > 399 {
		return 0, "", false
	}
	if loc, lerr := httpErr.Response.Location(); lerr == nil {
		target = loc.String()
	}
	return status, target, true
}

// followable says whether a client follows a redirect of status with
// the same method and body, as a send needs.
func followable(status int) bool {
	return status == http.StatusTemporaryRedirect || status == http.StatusPermanentRedirect
}

// homeserverBase is the homeserver address a redirect's target implies:
// the target up to its /_matrix/ path.
func homeserverBase(target string) string {
	if i := strings.Index(target, "/_matrix/"); i >= 0 {
		return target[:i]
	}
	return target
}

// pipelineRedirected switches pipelining off after a pipelined send was
// answered with a redirect of status to target; the first time only, it
// says so in the log.
func (m *Matrix) pipelineRedirected(status int, target string) {
	if !m.pipelineOff.CompareAndSwap(false, true) {
		return
	}
	log := m.Log.Warn().Int("status", status).Str("redirect_to", target).Str("homeserver_address", m.pipelineBase)
	fix := fmt.Sprintf("set homeserver.address to %q", homeserverBase(target))
	if followable(status) {
		log.Msg("The homeserver address redirects; sends are no longer pipelined and go through the ordinary client, which follows the redirect. To pipeline again, " + fix)
		return
	}
	if !m.firstRedirectWarning(m.pipelineBase) {
		// The ordinary client has said so already (redirect_client.go).
		return
	}
	log.Msg("The homeserver address redirects with a status a send cannot follow (it would become a GET); sends are no longer pipelined, and sends, joins and room creation fail until you " + fix)
}

// redirectedSendError names the redirect a send could not follow, and
// the fix.
func redirectedSendError(status int, target string, err error) error {
	return fmt.Errorf("send event: the homeserver address redirects (HTTP %d to %s), which a send cannot follow; set homeserver.address to %q: %w",
		status, target, homeserverBase(target), err)
}

// sendInTurn sends an event through the ordinary client once done is
// closed, for a room whose sends are no longer pipelined: the same
// request as the pipelined send, with its retries (Retry). While pipe is
// held (an earlier send was given up for an unreachable homeserver and
// the portal has not resumed), the event is refused as the pipeline
// would refuse it, to be kept behind that one: the ordinary client must
// not take it to the homeserver first. When ctx ends before done, it
// returns at once; its caller passes its turn on only after done
// (passTurn).
func (m *Matrix) sendInTurn(ctx context.Context, pipe *Pipeline, done <-chan struct{}, intent *appservice.IntentAPI, room id.RoomID, evtType event.Type, content any, ts time.Time, txnID string) (id.EventID, error) {
	select {
	case <-done:
	case <-ctx.Done():
		return "", fmt.Errorf("send event: waiting for the room's earlier sends: %w", ctx.Err())
	}
	if pipe.Held() {
		return "", errSendHeldBehind
	}
	client := m.AS.NewMautrixClient(intent.UserID)
	req := mautrix.ReqSendEvent{TransactionID: txnID}
	if !ts.IsZero() {
		req.Timestamp = ts.UnixMilli()
	}
	var resp *mautrix.RespSendEvent
	err := m.Retry(ctx, "send event", func(ctx context.Context) (err error) {
		resp, err = client.SendMessageEvent(ctx, room, evtType, content, req)
		return err
	})
	if err != nil {
		return "", err
	}
	return resp.EventID, nil
}
