package portals

import (
	"context"
	"errors"
	"fmt"

	"github.com/rs/zerolog"
	"maunium.net/go/mautrix"
	"maunium.net/go/mautrix/id"

	"github.com/ferrybridge/ferry/bridge/network"
	"github.com/ferrybridge/ferry/puppets"
)

// reportRemoteFailure tells the room that a remote event was not bridged
// and will not be: the homeserver refused it, or something in Ferry
// failed on it. Nothing fails silently, whichever way it travels. Typing,
// receipts, membership and chat info are left out: they are not what
// anyone reads, and the next of their kind sets things right. An event
// given up because the homeserver was unreachable is not reported here
// (a notice could not reach the room anyway): it is kept
// (durable_outage.go), or its network hears of it and delivers it again,
// or, lost, it is reported once the homeserver is back
// (durable_outage_lost.go).
func (p *Portal) reportRemoteFailure(ctx context.Context, login *network.Login, evt network.Event, err error) {
	if ctx.Err() != nil || errors.Is(err, puppets.ErrUnreachable) {
		return
	}
	// Nothing else keeps this event: a notice the homeserver cannot take
	// now is held for after the outage (notice_held.go).
	users, body := p.notBridgedNotice(login, evt, remoteFailureReason(err))
	if body == "" {
		return
	}
	if err := p.noticeOrHold(ctx, users, body); err != nil {
		zerolog.Ctx(ctx).Err(err).Msg("Failed to report a remote event that was not bridged")
	}
}

// errNoRoom: a notice had no room to go to, the portal has none yet, and
// no user to tell instead.
var errNoRoom = errors.New("the portal has no room, and no user to tell instead")

// noticeNotBridged tells the room that evt, which came through login
// (nil: a login that is gone), was not bridged, and why; a nil evt is one
// Ferry could not read, of which it knows nothing more. A portal with no
// room yet tells the login's user in their management room instead
// (notice_user.go). Typing, receipts, membership and chat info are left
// out (see reportRemoteFailure): nil is returned for them.
func (p *Portal) noticeNotBridged(ctx context.Context, login *network.Login, evt network.Event, reason string) error {
	users, body := p.notBridgedNotice(login, evt, reason)
	if body == "" {
		return nil
	}
	if p.RoomID == "" {
		return p.noticeUsers(ctx, users, body)
	}
	return p.postNotice(ctx, "", body)
}

// notBridgedNotice is noticeNotBridged's notice: its body, Markdown
// (noticeContent) with reason put in as it is, Markdown too ("" when evt
// is not worth one), and, for a portal with no room, the users to tell.
func (p *Portal) notBridgedNotice(login *network.Login, evt network.Event, reason string) (users []id.UserID, body string) {
	what, reportable := notBridgedWhat(evt)
	if !reportable {
		return nil, ""
	}
	if evt != nil {
		sender := evt.EventMeta().Sender.User
		what += " from " + network.Literal(p.m.ghosts.MXID(network.GhostKey{Network: p.Key.Network, User: sender}).String())
	}
	net := p.m.dir.NetworkName(p.Key.Network)
	if p.RoomID == "" {
		return p.usersToTell(login), fmt.Sprintf("⚠️ %s was not bridged from %s, in %s: %s", what, net, p.roomlessChat(), reason)
	}
	return nil, fmt.Sprintf("⚠️ %s was not bridged from %s: %s", what, net, reason)
}

// notBridgedWhat names evt for a notice that it was not bridged, and
// says whether it is worth one (see reportRemoteFailure).
func notBridgedWhat(evt network.Event) (string, bool) {
	switch evt.(type) {
	case nil:
		return "An event", true
	case *network.Message:
		return "A message", true
	case *network.Edit:
		return "An edit", true
	case *network.Reaction:
		return "A reaction", true
	case *network.ReactionRemove:
		return "The removal of a reaction", true
	case *network.Redaction:
		return "A deletion", true
	}
	return "", false
}

// remoteFailureReason says in a few words, in Markdown, why a remote
// event was not bridged: the network's message for the user (Markdown,
// network.UserError), or the homeserver's own error where it refused the
// event, its words as written (network.Literal).
func remoteFailureReason(err error) string {
	if msg := network.UserMessage(err, ""); msg != "" {
		return msg
	}
	var httpErr mautrix.HTTPError
	if errors.As(err, &httpErr) {
		if httpErr.RespError != nil && httpErr.RespError.ErrCode != "" {
			return fmt.Sprintf("the homeserver refused it (%s: %s)", network.Literal(httpErr.RespError.ErrCode), network.Literal(httpErr.RespError.Err))
		}
		if httpErr.Response != nil {
			return fmt.Sprintf("the homeserver answered HTTP %d", httpErr.Response.StatusCode)
		}
	}
	return "internal error (see the bridge log)"
}
