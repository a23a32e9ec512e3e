package portals

import (
	"context"
	"errors"
	"fmt"

	"github.com/rs/zerolog"
	"maunium.net/go/mautrix"

	"github.com/ferrybridge/ferry/bridge/network"
	"github.com/ferrybridge/ferry/database"
	"github.com/ferrybridge/ferry/puppets"
)

// A reaction the Matrix user made from Matrix through Ferry is stored
// with their remote account as its sender, like the reactions the
// account's ghost sends, but its Matrix event is the user's own. When the
// account changes or removes it on another device (WhatsApp: the phone;
// one reaction per person replaces the earlier one), the ghost cannot
// redact that event: the homeserver refuses it the power to redact the
// events of others, and the room kept the old reaction beside the new
// one, with a notice that the change was not bridged. The bot, which has
// that power in every portal room, redacts such an event. The row names
// the Matrix user who sent it (SenderMXID), but a row stored before it
// did may hold a ghost's reaction or the user's (the upgrade gave both
// the user's), and reading the event to learn it is not reliable (a
// homeserver's history may follow its sends a moment behind), so the
// ghost tries first and the bot takes over the refusal.
//
// Who may take such a reaction back: the remote sender a removal names
// is all the core knows of who removed it, and on IRC that is a nick,
// which someone else can have by then (the user changed nick, or logged
// out, and another took it). So a reaction sent from Matrix is taken
// back only by a removal its sender's own account made (Sender.FromMe),
// handed over through that user's login; one the ghost sent goes with
// any removal that names its sender, as before.

// removableBy reports whether a remote removal by sender, handed over by
// login, may take back existing (see above).
func removableBy(existing *database.Reaction, login *network.Login, sender network.Sender) bool {
	return existing.SenderMXID == "" || sender.FromMe && login.User == existing.SenderMXID
}

// redactReaction redacts existing, a reaction of ghost's remote person:
// as the ghost, or, where the homeserver refuses the ghost, as the bot
// (or the ghost acting for it: botStandIn).
func (p *Portal) redactReaction(ctx context.Context, ghost *puppets.Ghost, existing *database.Reaction) error {
	err := p.m.matrix.Redact(ctx, ghost.Intent(), p.RoomID, existing.EventID, "")
	if !errors.Is(err, mautrix.MForbidden) {
		return err
	}
	// In a direct chat without the bot, its ghost has the power the bot
	// would have (botStandIn); the bot, not in the room, cannot redact.
	standIn, standInErr := p.botStandIn(ctx)
	if standInErr != nil {
		return fmt.Errorf("%w; then: %w", err, standInErr)
	}
	zerolog.Ctx(ctx).Debug().Err(err).Stringer("event_id", existing.EventID).Stringer("as", standIn.UserID).
		Msg("The ghost may not redact the reaction (one sent from Matrix); the bot, or the ghost acting for it, redacts it")
	return p.m.matrix.Redact(ctx, standIn, p.RoomID, existing.EventID, "")
}
