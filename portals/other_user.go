package portals

import (
	"context"
	"errors"
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
// there in a change that also drops the old one's entry (handOverPower),
// is stored as the other user, and then the old ghost leaves. A step that
// fails leaves the old ghost in charge; the next resync tries again.
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
	// The hand-over is the bot's where it is in the room and its level
	// lets it make it; else the old ghost's, acting as itself: it may
	// give its own level and drop its own entry whatever the bot's
	// level, and where the bot is outside it is the only one of
	// Ferry's with the power the user's client gave.
	actors := []*appservice.IntentAPI{oldGhost.Intent()}
	if !outside {
		actors = []*appservice.IntentAPI{p.m.matrix.Bot(), oldGhost.Intent()}
	}
	if err = p.handOverPower(ctx, actors, oldGhost.MXID, ghost.MXID); err != nil {
		if outside {
			// The new ghost acts for the bot after the old one leaves:
			// without the power, it could not redact or kick.
			log.Warn().Err(err).Msg("Failed to give a direct chat's new ghost the old one's power; the old one stays")
			return
		}
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
// in one power-level change made by the first of actors that may make
// all of it (powerHandOver): to gets from's level if its own is lower,
// and from's entry goes, as from is about to leave and a departed user's
// entry would keep its power (were it ever to come back) and clutter the
// room's settings. The entry goes only where that does not raise from
// (an entry below the room's default). In a direct chat without the bot,
// from is the one actor, the ghost the user's client raised, as no one
// else of Ferry's can give the power; with the bot, the bot acts where
// its level allows, and from, acting as itself, where it does not (a
// level above the bot's, or equal to it, which the bot may not lower).
// from keeps no power once it has handed it over, so were the store of
// the new other user to fail after this, the next resync finds nothing
// left to move and goes on. Where no actor may make the change (none may
// change power levels at all), nothing is sent, rather than a change
// refused every time, which would keep the old ghost for good. The
// levels are the homeserver's (FreshPowerLevels): the change carries
// them whole, and the store's may lack a change the user made a moment
// before.
func (p *Portal) handOverPower(ctx context.Context, actors []*appservice.IntentAPI, from, to id.UserID) error {
	levels, err := p.m.matrix.FreshPowerLevels(ctx, actors[0], p.RoomID)
	if err != nil {
		return err
	}
	var errs []error
	for _, actor := range actors {
		change, may := powerHandOver(levels, actor.UserID, from, to)
		if !may {
			continue
		}
		if change == nil {
			return nil // nothing to move
		}
		if _, err = p.m.matrix.SendState(ctx, actor, p.RoomID, event.StatePowerLevels, "", change); err == nil {
			return nil
		}
		// Refused (the levels may have changed since they were
		// read): the next actor may still make it.
		errs = append(errs, fmt.Errorf("set power levels as %s: %w", actor.UserID, err))
	}
	if len(errs) == 0 {
		zerolog.Ctx(ctx).Debug().Msg("No power to change the room's power levels; no level is moved to the new ghost")
	}
	return errors.Join(errs...)
}

// powerHandOver is the change of levels that moves from's level to to,
// made as actor, nil when there is nothing to move; may says whether the
// homeserver lets actor make all of it. Its level must allow changing
// power levels, and be at least the level it gives to (no one may raise
// another above itself), and above from's unless actor is from (no one
// may lower a peer or a superior, but anyone may lower itself).
func powerHandOver(levels *event.PowerLevelsEventContent, actor, from, to id.UserID) (change *event.PowerLevelsEventContent, may bool) {
	own := levels.GetUserLevel(actor)
	if own < levels.GetEventLevel(event.StatePowerLevels) {
		return nil, false
	}
	have := levels.GetUserLevel(from)
	raise := levels.GetUserLevel(to) < have
	_, listed := levels.Users[from]
	drop := listed && have >= levels.UsersDefault
	switch {
	case !raise && !drop:
		return nil, true
	case raise && have > own, drop && actor != from && have >= own:
		return nil, false
	}
	change = levels.Clone()
	if raise {
		change.SetUserLevel(to, have)
	}
	if drop {
		change.SetUserLevel(from, change.UsersDefault) // removes the entry
	}
	return change, true
}
