package whatsapp

import (
	"context"
	"fmt"
	"runtime/debug"

	"github.com/rs/zerolog"
	"go.mau.fi/whatsmeow/proto/waE2E"
	"go.mau.fi/whatsmeow/types"
	"go.mau.fi/whatsmeow/types/events"

	"github.com/ferrybridge/ferry/bridge/network"
	"github.com/ferrybridge/ferry/whatsapp/waconv"
)

// An event that failed to bridge maxAttempts times is acknowledged to
// WhatsApp, which then never sends it again: without a word, the user
// would never know it existed. The core tells the room of most failures
// itself, but not of one its network gives up waiting for (a portal full
// behind a backlog, a homeserver unreachable, no room made yet), nor of a
// message that failed before it reached the core.

// givenUpText stands in for a message Ferry gave up on. It does not quote
// the message: Ferry never got it into a shape it could bridge.
var givenUpText = fmt.Sprintf("⚠️ Ferry could not bridge this WhatsApp message and gave up after %d attempts: read it on your phone.", maxAttempts)

// reportGivenUp tells the user of evt, given up after maxAttempts. A
// message is replaced by a stand-in with its ID, queued where the core
// keeps it until the room can take it (through an outage and a restart):
// if the message itself was still bridged meanwhile, the core drops the
// stand-in as a duplicate, and if it comes again later, it replaces the
// stand-in. Edits, reactions and deletions are not worth a line in the
// room each; the user hears of them in the management room.
func (c *Client) reportGivenUp(ctx context.Context, evt network.Event) {
	if msg, ok := evt.(*network.Message); ok {
		stand := &network.Message{Meta: msg.Meta, ID: msg.ID, Parts: noticeParts(givenUpText), Placeholder: true}
		stand.CreatePortal = true
		c.conn.host.QueueEvent(c.id, stand)
		return
	}
	chat, err := parseChatID(evt.EventMeta().Portal.Chat)
	if err != nil {
		zerolog.Ctx(ctx).Warn().Err(err).Msg("Given-up event of an unreadable chat")
	}
	c.notifyGivenUp(ctx, eventKind(evt), chat)
}

// reportGivenUpMessage is reportGivenUp for a message that failed before
// it became a contract event: its stand-in is made from its info alone.
// An edit, a reaction or a deletion (one whose stored secret could not
// be read, or whose target could not be looked up) gets no stand-in,
// which would pose in the room as a new message of its sender's: the
// user hears of it in the management room, as of one the core failed.
func (c *Client) reportGivenUpMessage(ctx context.Context, evt *events.Message) {
	info := evt.Info
	chat, alt, ok := c.route(ctx, &info)
	if !ok {
		return
	}
	if what := changeKind(evt); what != "" {
		c.notifyGivenUp(ctx, what, chat)
		return
	}
	meta := c.messageMeta(ctx, &info, chat, alt)
	c.reportGivenUp(ctx, &network.Message{Meta: meta, ID: network.MessageID(info.ID)})
}

// reportGivenUpRaw is the report for an event whose handling panicked:
// only a notice naming the chat, as building a stand-in may well run into
// the same fault. A panic here is only logged; it runs where the first
// one was caught.
func (c *Client) reportGivenUpRaw(ctx context.Context, raw any) {
	defer func() {
		if r := recover(); r != nil {
			c.log.Error().Any("panic", r).Msg("Panic while reporting a given-up WhatsApp event")
		}
	}()
	switch evt := raw.(type) {
	case *events.Message:
		c.notifyGivenUp(ctx, "a message", evt.Info.Chat)
	case *events.UndecryptableMessage:
		c.notifyGivenUp(ctx, "a message", evt.Info.Chat)
	default:
		c.notifyGivenUp(ctx, "an event", types.EmptyJID)
	}
}

// notifyGivenUp tells the login's user in the management room that what
// (an edit, a message ...) of chat was given up.
func (c *Client) notifyGivenUp(ctx context.Context, what string, chat types.JID) {
	where := "a WhatsApp chat"
	if !chat.IsEmpty() {
		where = c.chatLabel(ctx, chat)
	}
	text := fmt.Sprintf("⚠️ Ferry could not bridge %s in %s and gave up after %d attempts: see it on your phone.", what, where, maxAttempts)
	// The handler's own deadline has often run out (that may be why the
	// event failed), and the handler need not wait for the homeserver.
	log := zerolog.Ctx(ctx)
	c.conn.background(func(bg context.Context) {
		c.conn.host.NotifyUser(log.WithContext(bg), c.id, text)
	})
}

// notifyHistoryGivenUp tells the login's user in the management room
// that the history of chat was given up (its hand-over panicked).
func (c *Client) notifyHistoryGivenUp(ctx context.Context, chat types.JID) {
	text := "⚠️ Ferry could not bridge the history of " + c.chatLabel(ctx, chat) +
		"; its new messages are bridged as usual. See the older ones on your phone."
	log := zerolog.Ctx(ctx)
	c.conn.background(func(bg context.Context) {
		c.conn.host.NotifyUser(log.WithContext(bg), c.id, text)
	})
}

// chatLabel names chat for the user: a person's name and number, or a
// group's ID (its name may not be known without asking WhatsApp). It
// runs inside the recovers that give work up (history_gate.go,
// media_retry.go), so it must not panic itself: a panic there escapes
// them, leaving the history worker dead with its queue, or the user
// untold. A contact-store read that panics (a corrupt row) names the
// chat by its ID.
func (c *Client) chatLabel(ctx context.Context, chat types.JID) (label string) {
	defer func() {
		if r := recover(); r != nil {
			zerolog.Ctx(ctx).Error().Any("panic", r).Str("stack", string(debug.Stack())).Stringer("chat", chat).
				Msg("Panic while naming a WhatsApp chat for a notice; naming it by its ID")
			label = "the WhatsApp chat " + chat.String()
		}
	}()
	switch chat.Server {
	case types.GroupServer:
		return "the WhatsApp group " + chat.User
	case types.DefaultUserServer, types.HiddenUserServer:
		d := c.names(ctx, chat)
		for _, n := range []string{d.BusinessName, d.PushName} {
			if n != "" {
				if d.Phone != "" {
					return fmt.Sprintf("the WhatsApp chat with %s (%s)", n, d.Phone)
				}
				return "the WhatsApp chat with " + n
			}
		}
		if d.Phone != "" {
			return "the WhatsApp chat with " + d.Phone
		}
	}
	return "the WhatsApp chat " + chat.String()
}

// changeKind names what a WhatsApp message that acts on another one
// is ("an edit", "a reaction", "a deletion"), or "" for a message.
func changeKind(evt *events.Message) string {
	msg := evt.Message
	if msg == nil {
		msg = evt.RawMessage
	}
	msg = waconv.Unwrap(msg)
	switch {
	case msg.GetReactionMessage() != nil || msg.GetEncReactionMessage() != nil:
		return "a reaction"
	case msg.GetSecretEncryptedMessage() != nil:
		return "an edit"
	}
	switch msg.GetProtocolMessage().GetType() {
	case waE2E.ProtocolMessage_MESSAGE_EDIT:
		return "an edit"
	case waE2E.ProtocolMessage_REVOKE:
		return "a deletion"
	}
	return ""
}

// eventKind names evt in a notice.
func eventKind(evt network.Event) string {
	switch evt.(type) {
	case *network.Edit:
		return "an edit"
	case *network.Reaction, *network.ReactionRemove:
		return "a reaction"
	case *network.Redaction:
		return "a deletion"
	}
	return "an event"
}
