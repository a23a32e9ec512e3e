package portals

import (
	"context"
	"errors"
	"fmt"

	"github.com/rs/zerolog"
	"maunium.net/go/mautrix"
	"maunium.net/go/mautrix/event"

	"github.com/ferrybridge/ferry/bridge/network"
	"github.com/ferrybridge/ferry/puppets"
)

// reportRemoteFailure tells the room that a remote event was not bridged
// and will not be: the homeserver refused it, or something in Ferry
// failed on it. Nothing fails silently, whichever way it travels. Typing,
// receipts, membership and chat info are left out: they are not what
// anyone reads, and the next of their kind sets things right. An event
// given up because the homeserver was unreachable is not reported: it
// is kept (durable_outage.go), or its network hears of it and delivers
// it again, and a notice could not reach the room anyway.
func (p *Portal) reportRemoteFailure(ctx context.Context, evt network.Event, err error) {
	if p.RoomID == "" || ctx.Err() != nil || errors.Is(err, puppets.ErrUnreachable) {
		return
	}
	var what string
	switch evt.(type) {
	case *network.Message:
		what = "A message"
	case *network.Edit:
		what = "An edit"
	case *network.Reaction:
		what = "A reaction"
	case *network.ReactionRemove:
		what = "The removal of a reaction"
	case *network.Redaction:
		what = "A deletion"
	default:
		return
	}
	sender := evt.EventMeta().Sender.User
	who := p.m.ghosts.MXID(network.GhostKey{Network: p.Key.Network, User: sender})
	content := &event.MessageEventContent{
		MsgType: event.MsgNotice,
		Body: fmt.Sprintf("⚠️ %s from %s was not bridged from %s: %s",
			what, who, p.m.dir.NetworkName(p.Key.Network), remoteFailureReason(err)),
	}
	if _, err := p.sendNotice(ctx, content); err != nil {
		zerolog.Ctx(ctx).Err(err).Msg("Failed to report a remote event that was not bridged")
	}
}

// remoteFailureReason says in a few words why a remote event was not
// bridged: the homeserver's own error where it refused the event.
func remoteFailureReason(err error) string {
	if msg := network.UserMessage(err, ""); msg != "" {
		return msg
	}
	var httpErr mautrix.HTTPError
	if errors.As(err, &httpErr) {
		if httpErr.RespError != nil && httpErr.RespError.ErrCode != "" {
			return fmt.Sprintf("the homeserver refused it (%s: %s)", httpErr.RespError.ErrCode, httpErr.RespError.Err)
		}
		if httpErr.Response != nil {
			return fmt.Sprintf("the homeserver answered HTTP %d", httpErr.Response.StatusCode)
		}
	}
	return "internal error (see the bridge log)"
}
