package whatsapp

import (
	"context"

	"github.com/rs/zerolog"
	"go.mau.fi/whatsmeow/types/events"

	"github.com/ferrybridge/ferry/bridge/network"
)

// Texts of the notices that stand in for a message Ferry cannot read.
const (
	waitingText  = "⏳ Waiting for this message: it could not be decrypted here yet, and WhatsApp has asked the sender's phone to send it again. It will replace this notice when it arrives; if it never does, open WhatsApp on your phone."
	viewOnceText = "Sent a view-once message, which WhatsApp shows only on the phone"
)

// handleUndecryptable bridges a message that failed to decrypt as a
// placeholder notice. whatsmeow has already asked the sender's device to
// encrypt it again (a retry receipt); when that copy decrypts, it arrives
// as an ordinary message with the same ID and the core edits the notice
// into it. Without the notice the user would see nothing at all until the
// retry succeeds, and nothing ever if it does not.
func (c *Client) handleUndecryptable(ctx context.Context, evt *events.UndecryptableMessage) bool {
	if evt == nil {
		return true
	}
	info := evt.Info
	log := zerolog.Ctx(ctx).With().Str("message_id", info.ID).Stringer("chat", info.Chat).
		Bool("unavailable", evt.IsUnavailable).Str("unavailable_type", string(evt.UnavailableType)).
		Str("decrypt_fail", string(evt.DecryptFailMode)).Logger()
	ctx = log.WithContext(ctx)
	log.Warn().Msg("Could not decrypt a WhatsApp message")
	if evt.DecryptFailMode == events.DecryptFailHide {
		// The sender marked the message as one whose failure is not
		// shown (reactions, poll votes, edits): WhatsApp's own apps show
		// nothing either.
		return true
	}
	chat, alt, ok := c.route(ctx, &info)
	if !ok || c.skipUnbridged(ctx, info.Chat) {
		return true
	}
	meta := c.messageMeta(ctx, &info, chat, alt)
	meta.CreatePortal = true
	msg := &network.Message{Meta: meta, ID: network.MessageID(info.ID), Parts: noticeParts(waitingText), Placeholder: true}
	if evt.IsUnavailable && evt.UnavailableType == events.UnavailableTypeViewOnce {
		// Linked devices never get view-once contents: no retry will
		// bring it, so this is the message, not a stand-in.
		msg.Parts, msg.Placeholder = noticeParts(viewOnceText), false
	}
	c.history.waitFor(ctx, msg)
	return c.deliver(ctx, "undecryptable/"+info.Chat.String()+"/"+info.ID, msg)
}
