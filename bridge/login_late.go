package bridge

import (
	"context"
	"strings"
	"sync"
	"time"

	"github.com/rs/zerolog"
	"maunium.net/go/mautrix/event"
	"maunium.net/go/mautrix/id"

	"github.com/ferrybridge/ferry/bridge/network"
)

// A login question for a secret that ended unanswered (the flow timed
// out, was cancelled or failed) leaves the user typing the password into
// a room where it is no longer awaited. Without a word of this, the bot
// answered it as an unknown command, showing the password back and
// leaving it readable. So the flow's end is remembered for the room it
// asked in, and the user's next message there, if it names no command,
// is deleted and answered with how to start again.

// lateAnswerWindow is how long after such an end the next message is
// taken for a late answer.
const lateAnswerWindow = 10 * time.Minute

// endedQuestions are the secret login questions that ended unanswered,
// by user: one at most, the last flow's.
type endedQuestions struct {
	lock  sync.Mutex
	ended map[id.UserID]endedQuestion
	// Whether a message replayed at start may be a late answer the
	// marks do not tell (login_late_replayed.go): complete, the marks
	// were stored whole at the last stop and read at this start;
	// unstored, a mark could not be stored in this run; stale, the rooms
	// of the marks recalled past lateAnswerWindow, by user; markLeft,
	// the last stop's mark could not be removed at this start.
	complete bool
	unstored bool
	markLeft bool
	stale    map[id.UserID]id.RoomID
}

type endedQuestion struct {
	room  id.RoomID
	net   network.NetworkID
	field string // the name of the field asked for ("password")
	at    time.Time
	// shared: the login stopped because others could read its room
	// (login_shared.go), where a new login must not ask again.
	shared bool
}

// questionEnded records that flow ended while the field it asked for,
// a secret, was still unanswered.
func (b *Bridge) questionEnded(flow *loginFlow) {
	flow.lock.Lock()
	// The field asked is the first still to be answered (askInput asks
	// them in turn): the user's next message answers it, not a secret
	// field further on. A question for no secret leaves no mark.
	var field string
	if len(flow.asking) > 0 && flow.asking[0].Secret {
		field = flow.asking[0].Name
	}
	flow.asking = nil
	shared := flow.shared
	flow.lock.Unlock()
	if field == "" {
		return
	}
	q := &b.endedQuestions
	q.lock.Lock()
	defer q.lock.Unlock()
	if q.ended == nil {
		q.ended = make(map[id.UserID]endedQuestion)
	}
	q.ended[flow.user] = endedQuestion{room: flow.room, net: flow.net, field: field, at: time.Now(), shared: shared}
	b.storeEndedQuestions(q)
}

// forgetEndedQuestion drops user's ended question: a new login began.
func (b *Bridge) forgetEndedQuestion(user id.UserID) {
	q := &b.endedQuestions
	q.lock.Lock()
	defer q.lock.Unlock()
	if _, ok := q.ended[user]; ok {
		delete(q.ended, user)
		b.storeEndedQuestions(q)
	}
}

// takeEndedQuestion returns the question that ended unanswered in room
// for user within lateAnswerWindow, if any, and forgets it: only the
// next message there that names no command (lateAnswer) may be the late
// answer.
func (b *Bridge) takeEndedQuestion(user id.UserID, room id.RoomID) (endedQuestion, bool) {
	q := &b.endedQuestions
	q.lock.Lock()
	defer q.lock.Unlock()
	eq, ok := q.ended[user]
	if !ok || eq.room != room {
		return endedQuestion{}, false
	}
	delete(q.ended, user)
	b.storeEndedQuestions(q)
	return eq, time.Since(eq.at) <= lateAnswerWindow
}

// lateAnswer is takeEndedQuestion for a message whose text, the prefix
// taken off, is body. A command is no late answer, and leaves the mark
// for the message after it: the user who runs `help` or `status` after a
// login stopped may type the password next, which must not stay in the
// room because a command came first.
func (b *Bridge) lateAnswer(user id.UserID, room id.RoomID, body string) (endedQuestion, bool) {
	words := strings.Fields(body)
	if len(words) == 0 || b.findCommand(words) != nil {
		return endedQuestion{}, false
	}
	return b.takeEndedQuestion(user, room)
}

// takeLateAnswerElsewhere handles evt, a message without the prefix in
// a room that is not its sender's management room, when a login question
// for a secret ended unanswered there: the login began when the room was
// the management room, and asked on there after a newer one took its
// place (login_rooms.go). Such a message was not read at all, the
// password left in the room, while the same in the management room is
// deleted. It is the late answer as there if it names no command; a
// command without the prefix is not run here, as before. It reports
// whether evt was taken for the late answer.
func (b *Bridge) takeLateAnswerElsewhere(ctx context.Context, evt *event.Event) bool {
	msg := evt.Content.AsMessage()
	// Any edit, one without its new content too: like any edit, it
	// answers no question (handleCommandMessage), and taken for the
	// late answer it would use up the mark the password after it needs.
	if msg == nil || msg.MsgType != event.MsgText || msg.RelatesTo.GetReplaceID() != "" {
		return false
	}
	body, _ := cutCommandPrefix(strings.TrimSpace(msg.Body))
	eq, late := b.lateAnswer(evt.Sender, evt.RoomID, body)
	if !late {
		return false
	}
	// Answered by the bot in the room, as in a management room: the
	// bot is a member here, and this is no portal.
	c := &commandContext{b: b, evt: evt, user: evt.Sender, room: evt.RoomID, inManagementRoom: true, level: b.Level(evt.Sender)}
	b.answerLate(ctx, c, eq)
	return true
}

// answerLate deletes c's message, taken for the late answer to eq, and
// says why, without showing it back.
func (b *Bridge) answerLate(ctx context.Context, c *commandContext, eq endedQuestion) {
	zerolog.Ctx(ctx).Info().Str("network", string(eq.net)).Msg("Deleted a message sent after its login question ended")
	text := "The login that asked for your " + eq.field + " had ended, so your message was not taken as its answer. "
	again := " " + b.sendLogin(ctx, c.user, c.room, eq.net) + " to start again."
	if eq.shared {
		// A login is refused in a room others read: the way to
		// start again is elsewhere.
		text = "The login that asked for your " + eq.field + " stopped, as others can read this room. "
		again = " Send `login " + string(eq.net) + "` in a direct chat with me, where no one else reads it."
	}
	b.edits.hold(c.evt.ID, true, true)
	b.holdsSecret(c.evt.ID)
	if b.redactSecret(ctx, c, false) {
		text += "I deleted your message, in case it held your " + eq.field + "."
	} else {
		text += "I could not delete your message: delete it yourself if it holds your " + eq.field + "."
	}
	c.reply(text + again)
}
