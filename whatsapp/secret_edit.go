package whatsapp

import (
	"context"
	"errors"
	"fmt"

	"github.com/rs/zerolog"
	"go.mau.fi/whatsmeow"
	"go.mau.fi/whatsmeow/proto/waCommon"
	"go.mau.fi/whatsmeow/proto/waE2E"
	"go.mau.fi/whatsmeow/types/events"

	"github.com/ferrybridge/ferry/bridge/network"
	"github.com/ferrybridge/ferry/whatsapp/waconv"
)

// secretEditUnreadableText stands in for an edit Ferry could not decrypt.
const secretEditUnreadableText = "✏️ This message was edited on WhatsApp, but Ferry could not read the edit (the message may be older than this link); see it on your phone."

// openSecret turns a SecretEncryptedMessage into what the converter
// bridges. Current WhatsApp clients send an edit this way: its content is
// encrypted with a key derived from the edited message's message secret,
// which whatsmeow stored when that message arrived but does not use by
// itself. A decrypted edit becomes the protocol message edit of the
// target that older clients send in the clear; so does an edit of an
// event (EVENT_EDIT), which Ferry shows as text. The other kinds act on
// polls, which Ferry shows only as notices, so they are skipped as their
// plain forms are (nil); an edit that cannot be read
// becomes a notice (unreadable), as the user must know that the message
// changed. A failure to read the stored secret is no reason to say the
// edit cannot be read: it is returned as an error, which leaves the edit
// unacknowledged for WhatsApp to deliver again, as other store failures
// on the way in do.
func (c *Client) openSecret(ctx context.Context, evt *events.Message, msg *waE2E.Message) (out *waE2E.Message, unreadable *waconv.Converted, err error) {
	enc := msg.GetSecretEncryptedMessage()
	log := zerolog.Ctx(ctx).With().Str("secret_enc_type", enc.GetSecretEncType().String()).
		Str("target_id", enc.GetTargetMessageKey().GetID()).Logger()
	switch enc.GetSecretEncType() {
	case waE2E.SecretEncryptedMessage_MESSAGE_EDIT, waE2E.SecretEncryptedMessage_EVENT_EDIT:
		// An event shows as text (waconv's eventPart), so a change of it,
		// a cancellation included, is an edit of that text: its
		// plaintext is the whole new event. whatsmeow picks the key's
		// use case by the type.
	case waE2E.SecretEncryptedMessage_POLL_EDIT, waE2E.SecretEncryptedMessage_POLL_ADD_OPTION:
		log.Debug().Msg("Ignoring an encrypted edit of a poll")
		return nil, nil, nil
	default:
		// Unknown to this whatsmeow: the converter says "unsupported".
		return msg, nil, nil
	}
	target := enc.GetTargetMessageKey()
	if c.wa == nil || target.GetID() == "" {
		log.Warn().Bool("logged_out", c.wa == nil).Msg("Cannot decrypt an encrypted edit")
		return nil, unreadableEdit(target), nil
	}
	// whatsmeow reads the envelope from evt.Message, which history and
	// tests may leave unset or wrapped.
	plain := *evt
	plain.Message = msg
	dec, err := c.wa.DecryptSecretEncryptedMessage(ctx, &plain)
	if isSecretStoreError(err) {
		return nil, nil, fmt.Errorf("read the secret of the edited message: %w", err)
	} else if err != nil {
		log.Warn().Err(err).Msg("Failed to decrypt an encrypted edit")
		return nil, unreadableEdit(target), nil
	}
	// The plaintext is the new content, or a protocol message edit
	// wrapping it (whatsmeow's own unwrapping handles both).
	content := waconv.Unwrap(dec)
	if pm := content.GetProtocolMessage(); pm.GetType() == waE2E.ProtocolMessage_MESSAGE_EDIT {
		content = pm.GetEditedMessage()
	}
	if content == nil {
		log.Warn().Msg("A decrypted edit has no content")
		return nil, unreadableEdit(target), nil
	}
	return &waE2E.Message{ProtocolMessage: &waE2E.ProtocolMessage{
		Type:          waE2E.ProtocolMessage_MESSAGE_EDIT.Enum(),
		Key:           target,
		EditedMessage: content,
	}}, nil, nil
}

// unreadableEdit is the notice that stands in for an edit of target
// Ferry could not read, replying to the message edited.
func unreadableEdit(target *waCommon.MessageKey) *waconv.Converted {
	conv := &waconv.Converted{Kind: waconv.KindMessage, Parts: noticeParts(secretEditUnreadableText)}
	if id := target.GetID(); id != "" {
		conv.ReplyTo = &network.MessageRef{ID: network.MessageID(id)}
	}
	return conv
}

// isSecretStoreError says whether err from DecryptSecretEncryptedMessage
// or DecryptReaction is a transient failure to read the secret rather
// than a message that cannot be read: an error of the device's store,
// marked as such (secret_store.go), or the end of the context it was
// read with. A secret that is not stored
// (whatsmeow.ErrOriginalMessageSecretNotFound) and a failed decryption
// are not.
func isSecretStoreError(err error) bool {
	if err == nil || errors.Is(err, whatsmeow.ErrOriginalMessageSecretNotFound) {
		return false
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return true
	}
	var storeErr *secretStoreError
	return errors.As(err, &storeErr)
}
