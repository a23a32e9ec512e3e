package bridge

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/rs/zerolog"
	"maunium.net/go/mautrix/event"
	"maunium.net/go/mautrix/id"
)

// editWindow is how long a command the bot did not know may be corrected
// by editing it. An edit later than that, or of a command that ran, is
// not run: clients offer to edit any message, and an edit fixing a typo
// in a `logout` that already worked must not log out again.
const editWindow = 10 * time.Minute

// heldWindow is how long the bot remembers the messages it took for what
// they hold (heldMessage): an edit of one later than that is told apart
// only as far as the homeserver tells (refuseEdit).
const heldWindow = 24 * time.Hour

// commandEdits remembers the commands answered "Unknown command", by
// event ID, for editWindow, and the messages taken for what they hold
// for heldWindow. The commands in memory only: after a restart, an edit
// is not run, and the user is told to send the command anew. Of the
// messages held, those with a secret are recalled from the store at
// start (recallStoredSecrets).
type commandEdits struct {
	lock    sync.Mutex
	unknown map[id.EventID]unknownSent
	held    map[id.EventID]heldMessage
	// forBot are the portal messages routed to the room's command
	// handling, by when they were routed (forTheBot).
	forBot map[id.EventID]time.Time
}

// heldMessage is a message the bot took for what it holds rather than
// run as a command, which an edit must not change: a login's answer,
// or a secret deleted. Its edit is answered for what it edits, and
// deleted with a secret, in any room and whatever its text (the prefix
// typed or not): the edit holds the corrected secret.
type heldMessage struct {
	at time.Time
	// answer: it was taken for a login's answer, or deleted in case it
	// was the late one (login_late.go).
	answer bool
	secret bool
	// recalled: recalled from the store at start, which keeps no word
	// of whether it was a login's answer or a command.
	recalled bool
}

// unknownSent is when a command the bot did not know was sent, and
// by whom: only its sender may correct it.
type unknownSent struct {
	at     time.Time
	sender id.UserID
}

// correction is what may come of an edit of a command.
type correction int

const (
	correctionRefused correction = iota // not run, and the sender is told why
	correctionRuns
	// correctionIgnored: the edit is by someone other than the sender of
	// the message it edits, which Matrix holds invalid (clients do not
	// show it), so it is not a correction the sender made.
	correctionIgnored
)

// wasUnknown records that the command in evtID, from sender, named no command.
func (e *commandEdits) wasUnknown(evtID id.EventID, sender id.UserID) {
	e.lock.Lock()
	defer e.lock.Unlock()
	now := time.Now()
	if e.unknown == nil {
		e.unknown = make(map[id.EventID]unknownSent)
	}
	forgetOlder(e.unknown, now.Add(-editWindow), func(u unknownSent) time.Time { return u.at })
	e.unknown[evtID] = unknownSent{at: now, sender: sender}
}

// hold records that evtID was taken for what it holds (heldMessage):
// answer for a login's answer, secret for a secret. Recorded again, it
// keeps what it held before too (an answer deleted for its secret).
func (e *commandEdits) hold(evtID id.EventID, answer, secret bool) {
	e.lock.Lock()
	defer e.lock.Unlock()
	now := time.Now()
	if e.held == nil {
		e.held = make(map[id.EventID]heldMessage)
	}
	forgetOlder(e.held, now.Add(-heldWindow), func(h heldMessage) time.Time { return h.at })
	h := e.held[evtID]
	e.held[evtID] = heldMessage{at: now, answer: answer || h.answer, secret: secret || h.secret}
}

// recall records the messages in secrets, by when they were handled,
// as held for their secret (recallStoredSecrets).
func (e *commandEdits) recall(secrets map[id.EventID]time.Time) {
	e.lock.Lock()
	defer e.lock.Unlock()
	if e.held == nil {
		e.held = make(map[id.EventID]heldMessage, len(secrets))
	}
	for evtID, at := range secrets {
		if _, known := e.held[evtID]; !known {
			e.held[evtID] = heldMessage{at: at, secret: true, recalled: true}
		}
	}
}

// recallStoredSecrets recalls, at start, the messages whose stored body
// was emptied for the secret they held (MarkHandledAndScrub) within
// heldWindow, which the store keeps as long. Forgotten at a restart, an
// edit of one, which holds the corrected secret, went in a portal to the
// chat ("never bridged") and stayed there, readable, its body stored; in
// an earlier management room it was not read at all; and where the bot
// could not delete the message it edits, not even the management room
// told it apart.
func (b *Bridge) recallStoredSecrets(ctx context.Context) error {
	secrets, err := b.DB.MatrixEvents.ScrubbedSince(ctx, time.Now().Add(-heldWindow))
	if err != nil {
		return fmt.Errorf("recall the messages that held a secret: %w", err)
	}
	b.edits.recall(secrets)
	return nil
}

// heldAs is what original was taken for, if it was (hold).
func (e *commandEdits) heldAs(original id.EventID) (heldMessage, bool) {
	e.lock.Lock()
	defer e.lock.Unlock()
	h, ok := e.held[original]
	if ok && time.Since(h.at) > heldWindow {
		return heldMessage{}, false
	}
	return h, ok
}

// forTheBot records, as it is routed, that the portal message evtID goes
// to the room's command handling. Recorded at once, not once it is
// handled: an edit sent right after it is routed before it is handled,
// and must follow it there (editsForBot).
func (e *commandEdits) forTheBot(evtID id.EventID) {
	e.lock.Lock()
	defer e.lock.Unlock()
	now := time.Now()
	if e.forBot == nil {
		e.forBot = make(map[id.EventID]time.Time)
	}
	forgetOlder(e.forBot, now.Add(-heldWindow), func(at time.Time) time.Time { return at })
	e.forBot[evtID] = now
}

// wasForTheBot reports whether original was routed to command handling
// within heldWindow (forTheBot).
func (e *commandEdits) wasForTheBot(original id.EventID) bool {
	e.lock.Lock()
	defer e.lock.Unlock()
	at, ok := e.forBot[original]
	return ok && time.Since(at) <= heldWindow
}

// editedOriginal is the message evt edits, or "" when evt is no edit.
func editedOriginal(evt *event.Event) id.EventID {
	if evt.Type != event.EventMessage {
		return ""
	}
	msg := evt.Content.AsMessage()
	if msg == nil {
		return ""
	}
	return msg.RelatesTo.GetReplaceID()
}

// editsHeldSecret reports whether evt is an edit of a message deleted for
// its secret: such an edit is for the bot to delete, wherever it is sent
// and whatever its text, even one that does not start with the prefix.
func (b *Bridge) editsHeldSecret(evt *event.Event) bool {
	original := editedOriginal(evt)
	if original == "" {
		return false
	}
	h, ok := b.edits.heldAs(original)
	return ok && h.secret
}

// editsForBot reports whether evt, in a portal, edits a message the bot
// took (a secret it deleted) or will take (one routed to the room's
// command handling, maybe not handled yet): whatever its text, such an
// edit is the bot's, to run, refuse or delete, never the chat's. Asked
// of what was handled only, a fast edit of `!ferry irc password x`
// without the prefix went to the portal before the bot had deleted the
// secret, and stayed in the room, readable, answered "never bridged".
func (b *Bridge) editsForBot(evt *event.Event) bool {
	original := editedOriginal(evt)
	return original != "" && (b.edits.wasForTheBot(original) || b.editsHeldSecret(evt))
}

// forgetOlder deletes the entries of m recorded (at) before cutoff.
func forgetOlder[V any](m map[id.EventID]V, cutoff time.Time, at func(V) time.Time) {
	for evt, v := range m {
		if at(v).Before(cutoff) {
			delete(m, evt)
		}
	}
}

// takeCorrection reports whether editor's edit of original may run as a
// command, and then forgets original: a correction runs once (it is
// remembered again if the correction names no command either). An edit
// by someone else leaves original to its sender to correct.
func (e *commandEdits) takeCorrection(original id.EventID, editor id.UserID) correction {
	e.lock.Lock()
	defer e.lock.Unlock()
	u, ok := e.unknown[original]
	if ok && u.sender != editor {
		return correctionIgnored
	}
	delete(e.unknown, original)
	if ok && time.Since(u.at) <= editWindow {
		return correctionRuns
	}
	return correctionRefused
}

// refuseEdit answers an edit that does not run. An edit of a message the
// bot deleted for its secret (a login's password, `irc password`) holds
// the corrected secret: it is deleted too, and emptied in the database,
// even where the bot could not delete the message it edits. Remembered
// (hold), and asked of the homeserver too, so that it holds after a
// restart.
func (b *Bridge) refuseEdit(ctx context.Context, c *commandContext, original id.EventID) {
	log := zerolog.Ctx(ctx).With().Stringer("edited_event_id", original).Logger()
	held, _ := b.edits.heldAs(original)
	secret := held.secret
	if !secret {
		orig, err := b.Matrix.Bot().GetEvent(ctx, c.room, original)
		if err != nil {
			log.Warn().Err(err).Msg("Failed to fetch the message an edit edits")
		}
		secret = err == nil && (orig.Unsigned.RedactedBecause != nil || len(orig.Content.VeryRaw) <= 2)
	}
	// Not "send it again" after an answer: a password sent again once
	// its login is over is no answer, but a message to the bot.
	again := "An edit does not run a command again: send the corrected command as a new message."
	switch {
	case held.recalled:
		// A password sent again as a new message once its login is
		// over would be an unknown command, shown back.
		again = "An edit does not change what I did with the message it edits: if it answered a login, to answer anew, start the login again; if it was a command, send it corrected as a new message."
	case held.answer:
		again = "An edit does not change what you answered a login: to answer anew, start the login again"
		if b.flowRunning(c.user) {
			again += " (send " + c.command("cancel") + " first)"
		}
		again += "."
	}
	if !held.answer && b.flowAsksIn(c.user, c.room) {
		// The corrected command sent as told would be taken for the
		// login's answer, and sent to its network.
		again += " Your login is waiting for your answer here: put `!ferry` before the command."
	}
	if !secret {
		c.reply(again)
		return
	}
	b.holdsSecret(c.evt.ID)
	if !b.redactSecret(ctx, c, false) {
		c.reply("⚠️ Your edit holds what the message it edits held, a secret, and I could not delete it: delete it yourself. " + again)
		return
	}
	c.reply("I deleted your edit, as the message it edits held a secret. " + again)
}

// redactEarlierSecret deletes original, an earlier version of the
// command with a secret in c, and empties its stored body (it was
// stored as an ordinary message before its edit made it a secret). It
// reports whether it could delete it.
func (b *Bridge) redactEarlierSecret(ctx context.Context, c *commandContext, original id.EventID) bool {
	b.edits.hold(original, false, true)
	if err := b.DB.MatrixEvents.MarkHandledAndScrub(ctx, original); err != nil {
		zerolog.Ctx(ctx).Err(err).Stringer("edited_event_id", original).Msg("Failed to empty the stored body of an edited secret")
	}
	if err := b.Matrix.Redact(ctx, b.Matrix.Bot(), c.room, original, "contained a secret"); err != nil {
		zerolog.Ctx(ctx).Warn().Err(err).Stringer("edited_event_id", original).Msg("Failed to redact the edited command with a secret")
		return false
	}
	return true
}
