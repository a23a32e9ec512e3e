package bridge

import (
	"context"
	"sync"
	"time"

	"github.com/rs/zerolog"
	"maunium.net/go/mautrix/id"
)

// editWindow is how long a command the bot did not know may be corrected
// by editing it. An edit later than that, or of a command that ran, is
// not run: clients offer to edit any message, and an edit fixing a typo
// in a `logout` that already worked must not log out again.
const editWindow = 10 * time.Minute

// commandEdits remembers the commands answered "Unknown command", by
// event ID, for editWindow. In memory only: after a restart, an edit is
// not run, and the user is told to send the command anew.
type commandEdits struct {
	lock    sync.Mutex
	unknown map[id.EventID]unknownSent
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
	for evt, u := range e.unknown {
		if now.Sub(u.at) > editWindow {
			delete(e.unknown, evt)
		}
	}
	e.unknown[evtID] = unknownSent{at: now, sender: sender}
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
// the corrected secret: it is deleted too, and emptied in the database.
// Asked of the homeserver rather than remembered, so that it holds
// after a restart.
func (b *Bridge) refuseEdit(ctx context.Context, c *commandContext, original id.EventID) {
	log := zerolog.Ctx(ctx).With().Stringer("edited_event_id", original).Logger()
	orig, err := b.Matrix.Bot().GetEvent(ctx, c.room, original)
	if err != nil {
		log.Warn().Err(err).Msg("Failed to fetch the message an edit edits")
	}
	if err != nil || (orig.Unsigned.RedactedBecause == nil && len(orig.Content.VeryRaw) > 2) {
		c.reply("An edit does not run a command again: send the corrected command as a new message.")
		return
	}
	b.holdsSecret(c.evt.ID)
	if !b.redactSecret(ctx, c, false) {
		c.reply("⚠️ The message you edited was deleted, as it held a secret, but I could not delete your edit: delete it yourself. An edit does not change what you sent: send the command again as a new message.")
		return
	}
	c.reply("I deleted your edit: the message it edits was deleted, as it held a secret, and an edit does not change what you sent. Send the command again as a new message.")
}

// redactEarlierSecret deletes original, an earlier version of the
// command with a secret that c ran, and empties its stored body (it was
// stored as an ordinary message before its edit made it a secret).
func (b *Bridge) redactEarlierSecret(ctx context.Context, c *commandContext, original id.EventID) {
	if err := b.DB.MatrixEvents.MarkHandledAndScrub(ctx, original); err != nil {
		zerolog.Ctx(ctx).Err(err).Stringer("edited_event_id", original).Msg("Failed to empty the stored body of an edited secret")
	}
	if err := b.Matrix.Redact(ctx, b.Matrix.Bot(), c.room, original, "contained a secret"); err != nil {
		zerolog.Ctx(ctx).Warn().Err(err).Stringer("edited_event_id", original).Msg("Failed to redact the edited command with a secret")
		c.reply("⚠️ I could not delete the message you edited, which holds the secret too; please delete it yourself.")
	}
}
