package portals

import (
	"context"
	"fmt"

	"github.com/rs/zerolog"
	"maunium.net/go/mautrix/appservice"
	"maunium.net/go/mautrix/event"
	"maunium.net/go/mautrix/id"

	"github.com/ferrybridge/ferry/bridge/network"
)

// A direct chat's other person can come to have another remote ID: a
// WhatsApp DM keyed by the person's LID moves to their phone number
// (Rekey), and the resync that follows names the number's user. From
// then on that ghost speaks, so it becomes the chat's ghost: the one
// botStandIn acts as where the bot is outside, and the one ghost in the
// room.

// changeOtherUser makes user, the one info names, the direct chat's
// other person in place of p.OtherUser. The new ghost joins (invited by
// the old one where the bot is outside), takes over the old one's power
// there in a change that also drops the old one's entry, is stored as the
// other user, and then the old ghost leaves. A
// step that fails leaves the old ghost in charge; the next resync tries
// again.
func (p *Portal) changeOtherUser(ctx context.Context, login *network.Login, user network.UserID) {
	old := p.OtherUser
	log := zerolog.Ctx(ctx).With().Str("old_user", string(old)).Str("new_user", string(user)).Logger()
	if old == "" {
		// A direct chat stored before its other user was: nobody to replace.
		p.OtherUser = user
		return
	}
	outside := p.botOutside(ctx)
	ghost, err := p.joinGhost(ctx, login, user)
	if err != nil {
		log.Warn().Err(err).Msg("Failed to join the new ghost of a direct chat's other person; the old one stays")
		return
	}
	oldGhost, err := p.m.ghosts.Get(ctx, network.GhostKey{Network: p.Key.Network, User: old})
	if err != nil {
		log.Warn().Err(err).Msg("Failed to find the old ghost of a direct chat's other person; it stays")
		return
	}
	if outside {
		// The new ghost acts for the bot after the old one leaves: it
		// needs the power the user's client gave the old one, to redact
		// and kick, and only the old one can give it.
		if err = p.handOverPower(ctx, oldGhost.Intent(), oldGhost.MXID, ghost.MXID); err != nil {
			log.Warn().Err(err).Msg("Failed to give a direct chat's new ghost the old one's power; the old one stays")
			return
		}
	} else if err = p.handOverPower(ctx, p.m.matrix.Bot(), oldGhost.MXID, ghost.MXID); err != nil {
		// The bot acts for itself: the old ghost's level is the
		// network's, which the next change of it sets again.
		log.Warn().Err(err).Msg("Failed to move a direct chat's old ghost's power level to the new one")
	}
	p.OtherUser = user
	if err = p.m.db.Portals.Put(ctx, p.Portal); err != nil {
		// Stored, the old ghost would be gone while the store still names
		// it as the one to act as after a restart.
		log.Err(err).Msg("Failed to store a direct chat's new other person; the old ghost stays")
		p.OtherUser = old
		return
	}
	// A join of the old ghost planned before must not bring it back.
	p.memberGone(old, oldGhost.MXID)
	if err = p.removeGhost(ctx, oldGhost.MXID, memberAction{}); err != nil {
		log.Warn().Err(err).Msg("Failed to take a direct chat's old ghost out of the room")
		return
	}
	log.Info().Msg("A direct chat's other person has a new ghost")
}

// handOverPower moves from's power level in the portal's room to to,
// in one power-level change made as actor: to gets from's level if its
// own is lower, and from's entry goes, as from is about to leave and a
// departed user's entry would keep its power (were it ever to come back)
// and clutter the room's settings. actor removes the entry only where it
// may: its own (lowering one's own level is always allowed), or one below
// its level, and only where that does not raise from (an entry below
// the room's default): raising oneself is refused, and the whole change
// with it. In a direct chat without the bot, actor is from, the ghost
// the user's client raised, as no one else of Ferry's can give the power;
// it keeps none once it has handed it over, so were the store of the new
// other user to fail after this, the next resync finds nothing left to
// move and goes on. An actor whose level does not let it change power
// levels at all has nothing it can move: nothing is sent, rather than a
// change refused every time, which would keep the old ghost for good.
func (p *Portal) handOverPower(ctx context.Context, actor *appservice.IntentAPI, from, to id.UserID) error {
	levels, err := actor.PowerLevels(ctx, p.RoomID)
	if err != nil {
		return fmt.Errorf("read power levels: %w", err)
	}
	if levels.GetUserLevel(actor.UserID) < levels.GetEventLevel(event.StatePowerLevels) {
		zerolog.Ctx(ctx).Debug().Stringer("actor", actor.UserID).
			Msg("No power to change the room's power levels; no level is moved to the new ghost")
		return nil
	}
	have := levels.GetUserLevel(from)
	changed := false
	if levels.GetUserLevel(to) < have {
		levels.SetUserLevel(to, have)
		changed = true
	}
	if _, listed := levels.Users[from]; listed && have >= levels.UsersDefault && (actor.UserID == from || have < levels.GetUserLevel(actor.UserID)) {
		levels.SetUserLevel(from, levels.UsersDefault) // removes the entry
		changed = true
	}
	if !changed {
		return nil
	}
	if _, err = p.m.matrix.SendState(ctx, actor, p.RoomID, event.StatePowerLevels, "", levels); err != nil {
		return fmt.Errorf("set power levels: %w", err)
	}
	return nil
}
