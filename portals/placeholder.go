package portals

import (
	"context"
	"fmt"

	"github.com/rs/zerolog"
	"maunium.net/go/mautrix/event"

	"github.com/ferrybridge/ferry/bridge/network"
	"github.com/ferrybridge/ferry/database"
	"github.com/ferrybridge/ferry/puppets"
)

// replacePlaceholder turns a bridged stand-in into the first part of the
// real message, as an edit of the stand-in's event: the room keeps one
// event where the message belongs in the timeline, and no second copy
// appears when a network redelivers. The remaining parts are sent by the
// caller as new events.
func (p *Portal) replacePlaceholder(ctx context.Context, login *network.Login, msg *network.Message, stand *database.Message) error {
	ghost, err := p.joinGhost(ctx, login, msg.Sender.User)
	if err != nil {
		return err
	}
	first := msg.Parts[0]
	newContent := p.partContent(ctx, ghost, first)
	content := replacementContent(&newContent, stand)
	// The transaction ID is fixed per message, so a retry after a crash
	// before the row below is updated resends nothing new.
	_, err = p.m.matrix.SendMessage(ctx, ghost.Intent(), p.RoomID, event.EventMessage,
		&event.Content{Parsed: content, Raw: first.Extra}, msg.Timestamp,
		txnID(p.Key, msg.ID, stand.Part, "placeholder-replace"))
	if err != nil {
		return fmt.Errorf("replace placeholder: %w", err)
	}
	if err = p.m.db.Messages.ClearPlaceholder(ctx, p.Key, msg.ID, first.ID); err != nil {
		return fmt.Errorf("store replaced placeholder: %w", err)
	}
	zerolog.Ctx(ctx).Debug().Stringer("event_id", stand.EventID).Msg("Replaced placeholder with the real message")
	return nil
}

// replacementContent is an m.replace edit of target carrying newContent.
func replacementContent(newContent *event.MessageEventContent, target *database.Message) *event.MessageEventContent {
	content := &event.MessageEventContent{
		MsgType:    newContent.MsgType,
		Body:       "* " + newContent.Body,
		NewContent: newContent,
		RelatesTo:  (&event.RelatesTo{}).SetReplace(target.EventID),
	}
	if newContent.FormattedBody != "" {
		content.Format, content.FormattedBody = newContent.Format, "* "+newContent.FormattedBody
	}
	return content
}

// partContent is a part's Matrix content with its file, if any, uploaded
// as ghost. A file that cannot be bridged becomes a notice naming it and
// why, so the message is never simply missing.
func (p *Portal) partContent(ctx context.Context, ghost *puppets.Ghost, part network.Part) event.MessageEventContent {
	content := *part.Content
	if part.Media == nil {
		return content
	}
	if err := p.uploadMedia(ctx, ghost, part, &content); err != nil {
		zerolog.Ctx(ctx).Warn().Err(err).Msg("Failed to bridge media, sending a notice instead")
		return event.MessageEventContent{
			MsgType: event.MsgNotice,
			Body:    fmt.Sprintf("Failed to bridge a file (%s): %v", content.Body, err),
		}
	}
	return content
}
