// Package puppets owns Ferry's Matrix identities: the ghost users that
// stand for remote people, and the one gateway through which every send to
// Matrix and every media upload goes. Keeping all writes in one place is
// what lets encryption for encrypted rooms be added later without touching
// the portals.
package puppets

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/rs/zerolog"
	"maunium.net/go/mautrix"
	"maunium.net/go/mautrix/appservice"
	"maunium.net/go/mautrix/event"
	"maunium.net/go/mautrix/id"

	"github.com/ferrybridge/ferry/bridge/workers"
)

// Matrix is the gateway to the homeserver. Its methods retry what the
// homeserver may answer later (network errors, 429, 5xx) with backoff, so
// that a portal waits through an outage instead of losing events; the wait
// is bounded by RetryFor and by the context.
type Matrix struct {
	AS  *appservice.AppService
	Log zerolog.Logger
	// RetryFor bounds how long one request is retried.
	RetryFor time.Duration
	// FirstBackoff and MaxBackoff shape the retry schedule.
	FirstBackoff, MaxBackoff time.Duration

	uploadOnce sync.Once
	uploadSize int64
	// pipelineBase is the homeserver address rooms pipeline their sends
	// to; empty: they do not (matrix_ahead.go).
	pipelineBase string
	// pipelineOff is set once that address answered a pipelined send
	// with a redirect: sends go through the ordinary client from then on
	// (pipeline_redirect.go).
	pipelineOff atomic.Bool
	// workers run the pipelined sends (matrix_ahead.go), so that a burst
	// reuses their grown stacks.
	workers *workers.Pool
	// intents makes ghosts' intents (intents.go).
	intents *intentFactory
	// redirectWarned holds the addresses the log has said redirect with
	// a status a PUT or POST cannot follow, by the ordinary client
	// (redirect_client.go) or by the pipeline (pipeline_redirect.go):
	// the first to meet the redirect says so, the other not again.
	redirectWarned sync.Map
	// rejoins are the ghosts joined again after a refused send, by room
	// and ghost, while sends hold marks of them (matrix_rejoin.go).
	rejoinsMu sync.Mutex
	rejoins   map[rejoinKey]*rejoinState
	// muted are the ghosts found members of rooms whose sends were
	// refused, so that the next refusals need not ask (matrix_muted.go).
	muted mutedGhosts
}

// NewMatrix wraps an appservice. The mautrix clients' own retries are
// turned off so that retrying happens here, visibly and per portal, and
// their HTTP client follows no redirect that would turn a send into a
// GET (redirect_client.go).
func NewMatrix(as *appservice.AppService, log zerolog.Logger) *Matrix {
	as.DefaultHTTPRetries = 0
	// mautrix makes the bot's client and intent on first use, without a
	// lock, and BotMXID reads the client: make both now, before any
	// goroutine can race (portals post their notices concurrently).
	as.BotClient()
	as.BotIntent()
	m := &Matrix{
		AS:           as,
		Log:          log,
		RetryFor:     30 * time.Minute,
		FirstBackoff: 200 * time.Millisecond,
		MaxBackoff:   30 * time.Second,
		workers:      workers.New(5 * time.Second),
		intents:      newIntentFactory(as, DefaultIntentsPerFactory),
	}
	m.refuseMethodChangingRedirects(as.HTTPClient)
	return m
}

func (m *Matrix) Bot() *appservice.IntentAPI { return m.AS.BotIntent() }

func (m *Matrix) BotMXID() id.UserID { return m.AS.BotMXID() }

// Intent returns the intent of a user in the appservice's namespace.
// The bot's is the real AppService's; ghosts' come from intents.go.
func (m *Matrix) Intent(user id.UserID) *appservice.IntentAPI {
	if user == m.AS.BotMXID() {
		return m.AS.BotIntent()
	}
	return m.intents.intent(user)
}

// SendMessage sends a message event as intent. ts, when not zero, becomes
// the event's origin_server_ts (appservice timestamp massaging). txnID
// makes retries idempotent on the homeserver; when empty, one is made
// here for all the attempts: a retry after an answer that was lost (a
// proxy's 504, a connection reset) must not post the event twice, and
// mautrix makes a new one for every request it is not given one for.
//
// A ghost's send refused as forbidden is tried once more after the ghost
// has joined again (matrix_rejoin.go).
func (m *Matrix) SendMessage(ctx context.Context, intent *appservice.IntentAPI, room id.RoomID, evtType event.Type, content any, ts time.Time, txnID string) (id.EventID, error) {
	if txnID == "" {
		txnID = intent.TxnID()
	}
	mark := m.takeRejoinMark(room, intent.UserID)
	defer m.releaseRejoinMark(mark)
	// The send, the join again and the retry, within one RetryFor
	// (retry_budget.go).
	ctx = withRetryBudget(ctx, time.Time{}, m.RetryFor)
	eventID, err := m.sendMessage(ctx, intent, room, evtType, content, ts, txnID)
	if err != nil {
		retry, failed := m.rejoinRefused(ctx, intent, room, err, mark, nil)
		if retry {
			return m.sendMessage(ctx, intent, room, evtType, content, ts, txnID)
		}
		if failed != nil {
			return "", failed
		}
	}
	return eventID, err
}

// sendMessage is SendMessage's send, retried while the homeserver may
// answer later.
func (m *Matrix) sendMessage(ctx context.Context, intent *appservice.IntentAPI, room id.RoomID, evtType event.Type, content any, ts time.Time, txnID string) (id.EventID, error) {
	var resp *mautrix.RespSendEvent
	req := mautrix.ReqSendEvent{TransactionID: txnID}
	if !ts.IsZero() {
		req.Timestamp = ts.UnixMilli()
	}
	err := m.Retry(ctx, "send event", func(ctx context.Context) (err error) {
		resp, err = intent.SendMessageEvent(ctx, room, evtType, content, req)
		return err
	})
	if err != nil {
		return "", err
	}
	return resp.EventID, nil
}

// SendNotice sends a plain notice as the bot.
func (m *Matrix) SendNotice(ctx context.Context, room id.RoomID, content *event.MessageEventContent) (id.EventID, error) {
	return m.SendMessage(ctx, m.Bot(), room, event.EventMessage, content, time.Time{}, "")
}

// SendState sets a state event as intent, and records it in the state
// store as the event it is (matrix_state.go).
func (m *Matrix) SendState(ctx context.Context, intent *appservice.IntentAPI, room id.RoomID, evtType event.Type, stateKey string, content any) (id.EventID, error) {
	var resp *mautrix.RespSendEvent
	var answered time.Time
	err := m.Retry(ctx, "send state", func(ctx context.Context) (err error) {
		resp, answered, err = putState(ctx, intent, room, evtType, stateKey, content)
		return err
	})
	if err != nil {
		return "", err
	}
	m.recordOwnState(ctx, intent, room, evtType, stateKey, content, resp.EventID, answered)
	return resp.EventID, nil
}

// Join puts intent's user into room. mautrix's EnsureJoined tries the
// join first and has the bot invite only when the homeserver refuses it,
// so in a room that not everyone may join (every per-user chat, and
// invite-only channels) each ghost's first join was a refused request.
// Where the state store knows the room's join rule and it is not public,
// the bot invites first; where it does not know, EnsureJoined finds out.
func (m *Matrix) Join(ctx context.Context, intent *appservice.IntentAPI, room id.RoomID) error {
	return m.JoinInvitedBy(ctx, intent, room, nil)
}

// JoinInvitedBy is Join with inviter inviting intent's user where it must
// be invited (nil: the bot), for a room the bot is no member of.
func (m *Matrix) JoinInvitedBy(ctx context.Context, intent *appservice.IntentAPI, room id.RoomID, inviter *appservice.IntentAPI) error {
	if inviter == nil {
		inviter = m.Bot()
	}
	store := m.AS.StateStore
	if store.IsInRoom(ctx, room, intent.UserID) {
		return nil
	}
	if err := intent.EnsureRegistered(ctx); err != nil {
		return fmt.Errorf("register %s: %w", intent.UserID, err)
	}
	if intent.UserID != m.BotMXID() && !store.IsInvited(ctx, room, intent.UserID) {
		rules, err := store.GetJoinRules(ctx, room)
		if err == nil && rules != nil && rules.JoinRule != event.JoinRulePublic {
			_, err = inviter.InviteUser(ctx, room, &mautrix.ReqInviteUser{UserID: intent.UserID})
			if err != nil && !IsAlreadyInRoom(err) {
				// EnsureJoined below tries the join, and invites again
				// if it is refused; its error is the one that counts.
				zerolog.Ctx(ctx).Debug().Err(err).Stringer("user_id", intent.UserID).Msg("Failed to invite a ghost before its join")
			}
		}
	}
	return intent.EnsureJoined(ctx, room, appservice.EnsureJoinedParams{BotOverride: inviter.Client})
}

// IsAlreadyInRoom reports whether err is the homeserver refusing an
// invite because the user is in the room already. The servers say so in
// words only: Dendrite "user is already joined to room" where its
// membership table has the user joined, but, where the join lands between
// that check and the invite's authorisation (the user accepting an
// earlier invite meanwhile), the event-auth text `... as target cannot be
// invited when their membership is "join"`; Synapse "<user> is already in
// the room.", under the unstable code of MSC3848 where that is enabled.
// The same event-auth text for "ban" is a refusal that stands.
func IsAlreadyInRoom(err error) bool {
	var httpErr mautrix.HTTPError
	if !errors.As(err, &httpErr) || httpErr.RespError == nil {
		return false
	}
	switch httpErr.RespError.ErrCode {
	case alreadyJoinedCode, "M_ALREADY_JOINED":
		return true
	case mautrix.MForbidden.ErrCode:
		text := strings.ToLower(httpErr.RespError.Err)
		return strings.Contains(text, "already") || strings.Contains(text, `when their membership is "join"`)
	}
	return false
}

// alreadyJoinedCode is MSC3848's unstable code for an invite of a user
// who is joined (Synapse with msc3848_enabled).
const alreadyJoinedCode = "ORG.MATRIX.MSC3848.ALREADY_JOINED"

// Leave takes intent's user out of room, or declines its invite. A reason
// goes in a leave event the user sends itself (the state endpoint, which
// the spec allows for one's own leave): Dendrite's /leave drops the
// request body, reason and all, and the reason is what tells people why a
// ghost left (an IRC quit message) or an invite was declined. Where the
// homeserver refuses that (a remote room Ferry's server is not in yet, as
// with an invite over federation), /leave does it, reason or not.
func (m *Matrix) Leave(ctx context.Context, intent *appservice.IntentAPI, room id.RoomID, reason string) error {
	if reason != "" {
		_, err := intent.SendCustomMembershipEvent(ctx, room, intent.UserID, event.MembershipLeave, reason)
		if err == nil {
			if err = m.AS.StateStore.SetMembership(ctx, room, intent.UserID, event.MembershipLeave); err != nil {
				zerolog.Ctx(ctx).Warn().Err(err).Stringer("user_id", intent.UserID).Msg("Failed to record a leave in the state store")
			}
			return nil
		}
		zerolog.Ctx(ctx).Debug().Err(err).Stringer("user_id", intent.UserID).Msg("Homeserver refused a leave event with a reason; leaving through /leave")
	}
	_, err := intent.LeaveRoom(ctx, room, &mautrix.ReqLeave{Reason: reason})
	return err
}

// Upload stores media on the homeserver as intent.
func (m *Matrix) Upload(ctx context.Context, intent *appservice.IntentAPI, data []byte, mimeType, fileName string) (id.ContentURI, error) {
	if mimeType == "" {
		mimeType = http.DetectContentType(data)
	}
	var resp *mautrix.RespMediaUpload
	err := m.Retry(ctx, "upload media", func(ctx context.Context) (err error) {
		resp, err = intent.UploadBytesWithName(ctx, data, mimeType, fileName)
		return err
	})
	if err != nil {
		return id.ContentURI{}, err
	}
	return resp.ContentURI, nil
}

// UploadFile stores a file from disk on the homeserver as intent. The file
// is reopened for every attempt, so a retry sends it whole again without
// ever holding it in memory.
func (m *Matrix) UploadFile(ctx context.Context, intent *appservice.IntentAPI, path string, size int64, mimeType, fileName string) (id.ContentURI, error) {
	var resp *mautrix.RespMediaUpload
	err := m.Retry(ctx, "upload media", func(ctx context.Context) error {
		f, err := os.Open(path)
		if err != nil {
			return fmt.Errorf("open %s: %w", path, err)
		}
		defer f.Close()
		resp, err = intent.UploadMedia(ctx, mautrix.ReqUploadMedia{Content: f, ContentLength: size, ContentType: mimeType, FileName: fileName})
		return err
	})
	if err != nil {
		return id.ContentURI{}, err
	}
	return resp.ContentURI, nil
}

// MaxUploadSize is the homeserver's upload limit (m.upload.size), asked
// once and remembered; 0 when the homeserver does not say.
func (m *Matrix) MaxUploadSize(ctx context.Context) int64 {
	m.uploadOnce.Do(func() {
		cfg, err := m.Bot().GetMediaConfig(ctx)
		if err != nil {
			m.Log.Warn().Err(err).Msg("Failed to read the homeserver's media config")
			return
		}
		m.uploadSize = cfg.UploadSize
	})
	return m.uploadSize
}

// CreateRoom creates a room as the bot. createRoom is not idempotent: a
// retry after an answer that was lost (a proxy's 504, a connection reset
// after the homeserver took the request) would make a second room, and
// leave the first with its invitees in it. So the request carries a
// nonce in its creation content, and a retry after such a failure first
// looks for a room with that nonce among the bot's rooms, for a while
// (room_create.go).
func (m *Matrix) CreateRoom(ctx context.Context, req *mautrix.ReqCreateRoom) (id.RoomID, error) {
	nonce, err := creationNonce()
	if err != nil {
		return "", err
	}
	marked := *req
	marked.CreationContent = make(map[string]any, len(req.CreationContent)+1)
	for k, v := range req.CreationContent {
		marked.CreationContent[k] = v
	}
	marked.CreationContent[creationNonceKey] = nonce
	var room id.RoomID
	mayExist := false
	err = m.Retry(ctx, "create room", func(ctx context.Context) error {
		if mayExist {
			found, err := m.awaitCreatedRoom(ctx, &marked, nonce)
			if err != nil || found != "" {
				room = found
				return err
			}
		}
		resp, err := m.Bot().CreateRoom(ctx, &marked)
		if err != nil {
			mayExist = mayExist || answerLost(err)
			return err
		}
		room = resp.RoomID
		return nil
	})
	if err != nil {
		return "", err
	}
	return room, nil
}

// ErrUnreachable marks a request given up after RetryFor because the
// homeserver could not be reached, or answered only that it was
// unavailable (429, 502-504). Nothing was refused: what the request
// carried may be tried again later, and should be, not reported lost.
var ErrUnreachable = errors.New("homeserver unreachable")

// Retry runs fn until it succeeds, fails permanently, RetryFor has passed
// or ctx ends. Only transient failures are retried; one still failing at
// the end of RetryFor because the homeserver is unreachable comes back
// marked ErrUnreachable.
func (m *Matrix) Retry(ctx context.Context, what string, fn func(ctx context.Context) error) error {
	deadline := m.retryDeadline(ctx)
	backoff := m.FirstBackoff
	for attempt := 1; ; attempt++ {
		err := fn(ctx)
		if err == nil {
			return nil
		}
		wait, retryable := retryDelay(err, backoff)
		if !retryable {
			return fmt.Errorf("%s: %w", what, err)
		}
		if time.Now().Add(wait).After(deadline) {
			if unreachable(err) {
				return fmt.Errorf("%s: %w: %w", what, ErrUnreachable, err)
			}
			return fmt.Errorf("%s: %w", what, err)
		}
		m.Log.Warn().Err(err).Str("action", what).Int("attempt", attempt).
			Dur("retry_in", wait).Msg("Homeserver request failed, retrying")
		select {
		case <-ctx.Done():
			return fmt.Errorf("%s: %w (gave up: %w)", what, err, ctx.Err())
		case <-time.After(wait):
		}
		backoff = min(backoff*2, m.MaxBackoff)
	}
}

// unreachable says whether err means that the homeserver was not there
// to take the request: no answer, a gateway's error, or a rate limit. A
// 500 is retried, but is not this: the homeserver took the request and
// failed on it, and may fail on it every time.
func unreachable(err error) bool {
	status, ok := answerStatus(err)
	return ok && (status == 0 || unreachableStatus(status))
}

// unreachableStatus says whether an answer with status says only that
// the homeserver was not there to take the request (unreachable).
func unreachableStatus(status int) bool {
	switch status {
	case http.StatusTooManyRequests, http.StatusBadGateway,
		http.StatusServiceUnavailable, http.StatusGatewayTimeout:
		return true
	}
	return false
}

// answerStatus is the status of the homeserver's answer in err, 0 when
// the request got no answer at all; ok is false when err is no HTTP
// request's error.
func answerStatus(err error) (status int, ok bool) {
	var httpErr mautrix.HTTPError
	if !errors.As(err, &httpErr) {
		return 0, false
	}
	if httpErr.Response == nil {
		return 0, true
	}
	return httpErr.Response.StatusCode, true
}

// retryDelay says whether err is worth retrying and after how long:
// connection failures and gateway errors (homeserver down or restarting)
// and rate limits are; everything the homeserver rejected on purpose is not.
func retryDelay(err error, backoff time.Duration) (time.Duration, bool) {
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return 0, false
	}
	var httpErr mautrix.HTTPError
	if !errors.As(err, &httpErr) {
		return 0, false
	}
	if httpErr.Response == nil {
		// No answer at all: connection refused or reset.
		return backoff, true
	}
	status := httpErr.Response.StatusCode
	switch {
	case status == http.StatusTooManyRequests, status == http.StatusServiceUnavailable:
		var bodyMS float64
		if httpErr.RespError != nil {
			bodyMS, _ = httpErr.RespError.ExtraData["retry_after_ms"].(float64)
		}
		if wait, ok := askedWait(httpErr.Response.Header, bodyMS); ok {
			return wait, true
		}
		return backoff, true
	case status == http.StatusBadGateway,
		status == http.StatusGatewayTimeout, status == http.StatusInternalServerError:
		return backoff, true
	}
	return 0, false
}
