package portals

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/rs/zerolog"
	"maunium.net/go/mautrix"
	"maunium.net/go/mautrix/event"
	"maunium.net/go/mautrix/id"

	"github.com/ferrybridge/ferry/database"
	"github.com/ferrybridge/ferry/puppets"
)

// When a message sent from Matrix is deleted, from Matrix
// (matrixRedaction) or on the network (remoteRedaction), the replies
// carrying its phone edits (remote_edit_matrix_sent.go) go with it. The
// message is gone on the network by then, and its deletion stands: what
// can be removed is, and the replies left in the room, with the deleted
// message's newer text, are told in one notice. Every row of the message
// is forgotten then, those of the replies left too: such a reply stands
// for nothing on the network any more, and a reaction or reply to it
// from Matrix must not reach the deleted message (standingFor would take
// the reply's own row, the message's only one left, for the message).

// editReplyLeft is a reply carrying an edit that stays in the room after
// its message's deletion, and why it could not be removed.
type editReplyLeft struct {
	eventID id.EventID
	err     error
}

// editDeletion is a deletion of a message whose edit replies go with it,
// as its notice tells it: opening, who deleted what, where (Markdown),
// and whom the notice mentions ("": nobody).
type editDeletion struct {
	opening string
	mention id.UserID
}

// matrixEditDeletion is evt's deletion from Matrix of msg, worded for
// who deleted it: its author, or a moderator deleting someone else's.
func (p *Portal) matrixEditDeletion(evt *event.Event, msg *database.Message) editDeletion {
	where := p.m.dir.NetworkName(p.Key.Network)
	if evt.Sender == msg.SenderMXID {
		return editDeletion{opening: "Your message was deleted on " + where, mention: evt.Sender}
	}
	return editDeletion{opening: "The message you removed was deleted on " + where, mention: evt.Sender}
}

// remoteEditDeletion is a deletion on the network of the message whose
// stored parts are parts, told to the Matrix user who sent it.
func (p *Portal) remoteEditDeletion(parts []*database.Message) editDeletion {
	deletion := editDeletion{opening: "Your message was deleted on " + p.m.dir.NetworkName(p.Key.Network)}
	for _, part := range withoutEditReplies(parts) {
		if p.sentFromMatrix(part) {
			deletion.mention = part.SenderMXID
			break
		}
	}
	return deletion
}

// redactEditRepliesOf redacts the replies carrying edits of msg, deleted
// from Matrix by deletion; one that cannot be looked up or redacted is
// told in the room.
func (p *Portal) redactEditRepliesOf(ctx context.Context, msg *database.Message, deletion editDeletion) {
	parts, err := p.m.db.Messages.GetParts(ctx, p.Key, msg.ID)
	if err != nil {
		zerolog.Ctx(ctx).Warn().Err(err).Str("remote_id", string(msg.ID)).Msg("Failed to look up the replies carrying edits of a deleted message")
		// Nothing to answer: the replies are unknown, and the deletion
		// is shown by no client. The notice stands alone in the room.
		p.tellEditRepliesLeft(ctx, deletion, "", "the replies here carrying its edits could not be looked up (see the bridge log)")
		return
	}
	p.redactEditReplies(ctx, parts, deletion)
}

// redactEditReplies redacts the replies carrying edits among parts, the
// stored parts of a deleted message, and tells those left in one notice.
// Its caller forgets the message's rows, theirs with them.
func (p *Portal) redactEditReplies(ctx context.Context, parts []*database.Message, deletion editDeletion) {
	var left []editReplyLeft
	for _, part := range parts {
		if !isEditReply(part) {
			continue
		}
		if err := p.redactEditReply(ctx, part); err != nil {
			zerolog.Ctx(ctx).Warn().Err(err).Str("remote_id", string(part.ID)).Stringer("event_id", part.EventID).
				Msg("Failed to redact a reply carrying an edit of a deleted message")
			left = append(left, editReplyLeft{eventID: part.EventID, err: err})
		}
	}
	if len(left) > 0 {
		p.tellEditRepliesLeft(ctx, deletion, left[0].eventID, editRepliesLeftWhy(p.RoomID, left))
	}
}

// redactEditReply redacts reply by the ghost that sent it or, where the
// room refuses that ghost (its power levels, or a plain M_FORBIDDEN), by
// whoever acts for the bot there (botStandIn), whose level may allow it.
func (p *Portal) redactEditReply(ctx context.Context, reply *database.Message) error {
	ghost := p.m.matrix.Intent(reply.SenderMXID)
	err := p.m.matrix.Redact(ctx, ghost, p.RoomID, reply.EventID, "")
	if err == nil || !(errors.Is(err, puppets.ErrRedactionRefused) || errors.Is(err, mautrix.MForbidden)) {
		return err
	}
	standIn, standInErr := p.botStandIn(ctx)
	if standInErr != nil || standIn.UserID == ghost.UserID {
		return err
	}
	zerolog.Ctx(ctx).Debug().Err(err).Stringer("event_id", reply.EventID).Stringer("stand_in", standIn.UserID).
		Msg("Reply carrying an edit refused to its ghost, redacting it for the bot")
	if standInErr = p.m.matrix.Redact(ctx, standIn, p.RoomID, reply.EventID, ""); standInErr != nil {
		// The ghost's refusal first: it is the one the room is told
		// (remoteFailureReason), saying which power levels keep it.
		return fmt.Errorf("%w (and as %s: %w)", err, standIn.UserID, standInErr)
	}
	return nil
}

// editRepliesLeftWhy says, for a notice answering the first of left,
// which replies stay and why (Markdown; remoteFailureReason puts the
// homeserver's words through network.Literal).
func editRepliesLeftWhy(room id.RoomID, left []editReplyLeft) string {
	var reasons []string
	seen := map[string]bool{}
	for _, l := range left {
		if reason := remoteFailureReason(l.err); !seen[reason] {
			seen[reason] = true
			reasons = append(reasons, reason)
		}
	}
	why := strings.Join(reasons, "; ")
	if len(left) == 1 {
		return "this reply carrying its edit could not be deleted: " + why
	}
	others := make([]string, 0, len(left)-1)
	for i, l := range left[1:] {
		others = append(others, fmt.Sprintf("[%d](%s)", i+2, room.EventURI(l.eventID).MatrixToURL()))
	}
	return fmt.Sprintf("%d replies carrying its edits could not be deleted, this one and %s: %s", len(left), strings.Join(others, ", "), why)
}

// tellEditRepliesLeft tells of deletion, in one notice answering about
// ("": none), that the message is gone from the network but replies
// carrying its edits stay, and why (Markdown). The notice answering a
// reply has a transaction ID of that reply's: the deletion handed over
// again (Ferry stopped after the notice, before the message's rows were
// forgotten and the deletion marked done) finds the reply refused again,
// and the homeserver, which keeps transaction IDs a while, answers with
// the notice already posted, not a second one.
func (p *Portal) tellEditRepliesLeft(ctx context.Context, deletion editDeletion, about id.EventID, why string) {
	content := noticeContent(fmt.Sprintf("⚠️ %s, but %s", deletion.opening, why))
	txnID := ""
	if about != "" {
		content.RelatesTo = (&event.RelatesTo{}).SetReplyTo(about)
		txnID = "ferry-edit-replies-left-" + string(about)
	}
	if deletion.mention != "" {
		content.Mentions = &event.Mentions{UserIDs: []id.UserID{deletion.mention}}
	}
	if _, err := p.sendNoticeTxn(ctx, content, txnID); err != nil {
		zerolog.Ctx(ctx).Err(err).Stringer("event_id", about).Msg("Failed to tell that replies carrying edits of a deleted message stay")
	}
}
