package whatsapp

import (
	"context"
	"slices"

	"github.com/rs/zerolog"

	"github.com/ferrybridge/ferry/bridge/network"
)

// WhatsApp → Matrix: what an edit makes out of date. A text too long for
// Matrix leaves files beside its message: the whole of a long caption
// (part waconv.IsWholeCaption of the file's message), and the answers
// carrying edits too long for Matrix edits (toEvent). A later edit of the
// message says what it says now: the earlier answers go, and so does the
// whole caption once an edit gives the file a caption that fits; else
// the room keeps showing a text the sender replaced.

// redactReplacedTexts deletes, after the edit editID of target made at
// meta's time was bridged (a Matrix edit, or an answer of its own), the
// answers carrying earlier edits of target and the parts wholeCaptions of
// target, and forgets those answers. A failure leaves the edit for WhatsApp to
// deliver again, as any event's (deliver); the edit bridged already is
// not bridged twice, and what went already is not found again.
func (c *Client) redactReplacedTexts(ctx context.Context, key string, meta network.Meta, target, editID network.MessageID, wholeCaptions []network.PartID) bool {
	// Only those of earlier edits: WhatsApp may deliver an older edit
	// after a newer one, whose answer holds the text the sender wrote last.
	answers, err := c.conn.msgs.editAnswersUpTo(ctx, c.id, meta.Portal.Chat, string(target), meta.Timestamp)
	if err != nil {
		// The edit itself is in the room: given up, only the older
		// texts beside it stay, and no notice would be true.
		zerolog.Ctx(ctx).Err(err).Msg("Failed to look up the answers carrying earlier edits of an edited message")
		return c.attemptFailed(key)
	}
	answers = slices.DeleteFunc(answers, func(answer string) bool { return answer == string(editID) })
	for _, part := range wholeCaptions {
		if !c.deliver(ctx, key, &network.Redaction{Meta: meta, Target: target, Part: part}) {
			return false
		}
	}
	for _, answer := range answers {
		if !c.deliver(ctx, key, &network.Redaction{Meta: meta, Target: network.MessageID(answer)}) {
			return false
		}
		if err = c.conn.msgs.forgetEditAnswer(ctx, c.id, meta.Portal.Chat, answer); err != nil {
			// It stays an answer of target: a later edit or deletion
			// deletes it again, which does nothing.
			zerolog.Ctx(ctx).Warn().Err(err).Str("answer_id", answer).Msg("Failed to forget a deleted answer carrying an edit")
		}
	}
	return true
}
