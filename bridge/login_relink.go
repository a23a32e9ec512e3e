package bridge

import (
	"context"
	"fmt"
	"time"

	"github.com/rs/zerolog"

	"github.com/ferrybridge/ferry/bridge/network"
	"github.com/ferrybridge/ferry/database"
)

// A login to an account the user is logged in to already (a relink: a
// new WhatsApp device for the same phone number) has the login ID of the
// running one. The flow stores it over the running login's record before
// it starts it, so that the client it loads sees the record it will run
// with. If that start fails, the running client (or, for a login that
// could not be started at Ferry's start, none) goes on as before, and
// the record must say so again: left with the new login's metadata, the
// next start of Ferry would load the new device, which the network
// unlinks when the flow fails, and not the one that ran.

// relinkFailed puts back the record a relink that could not start
// overwrote, and returns err for the user with what became of their
// earlier login.
func (b *Bridge) relinkFailed(ctx context.Context, flow *loginFlow, before *database.Login, err error) error {
	log := zerolog.Ctx(ctx).With().Str("network", string(flow.net)).Str("login", string(before.ID)).Logger()
	log.Warn().Err(err).Msg("Relinked login could not start; putting back the earlier one")
	msg := network.UserMessage(err, "an internal error (see the bridge log)")
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), discardTimeout)
	defer cancel()
	if rerr := b.restoreLogin(ctx, flow, before); rerr != nil {
		log.Err(rerr).Msg("Failed to put back the record of the earlier login")
		return &network.UserError{
			Message: msg + ". Your earlier login goes on, but Ferry could not put its stored record back (see the bridge log): " +
				"it may not start at Ferry's next start. Log in again once the problem is solved",
			Err: fmt.Errorf("%w (and putting back the earlier login: %w)", err, rerr),
		}
	}
	return &network.UserError{Message: msg + ". Your earlier login stays as it was", Err: err}
}

// restoreLogin stores the earlier login again: as its running client has
// it, when one runs (the network may have saved it since), or as it was
// stored. A logout of it meanwhile wins: its delete may have come before
// this put.
func (b *Bridge) restoreLogin(ctx context.Context, flow *loginFlow, before *database.Login) error {
	earlier := toNetworkLogin(before)
	if le := b.loginEntry(flow.net, before.ID); le != nil {
		earlier = le.login.Load()
	}
	if _, err := b.saveLogin(ctx, flow.net, earlier); err != nil {
		return err
	}
	if flow.loggedOutOf(before.ID) {
		if err := b.DB.Logins.Delete(ctx, flow.net, before.ID); err != nil {
			return fmt.Errorf("delete login logged out of: %w", err)
		}
	}
	return nil
}

// keepCancelledRelink keeps a relink the user cancelled once the flow had
// stored and started it. By then the new login's record replaced the
// earlier one and startLogin disconnected the earlier client: undoing the
// new login, as a cancelled first login is, would leave the user with no
// login at all, when they only stopped the flow. The relink completed, so
// it stays, and the user is told why; `logout` removes it. A logout (or
// another start) that took the login over meanwhile has the last word.
func (b *Bridge) keepCancelledRelink(ctx context.Context, flow *loginFlow, le *loginEntry, handed bool) error {
	login := le.login.Load()
	if b.loginEntry(flow.net, login.ID) != le {
		zerolog.Ctx(ctx).Info().Str("network", string(flow.net)).Str("login", string(login.ID)).
			Msg("Cancelled relink was replaced or logged out meanwhile")
		return nil
	}
	if handed {
		b.handedOverState(le)
	}
	// The cancel ended the flow's context.
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	b.noticef(ctx, flow.room, "Login cancelled, but your %s login (%s) had already completed and replaced the earlier one, so it is kept. Send %s to remove it.",
		b.NetworkName(flow.net), network.Literal(login.RemoteName), network.CodeSpan(fmt.Sprintf("logout %s %s", flow.net, login.RemoteName)))
	return nil
}
