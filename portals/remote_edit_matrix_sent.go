package portals

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"maunium.net/go/mautrix/event"
	"maunium.net/go/mautrix/id"

	"github.com/ferrybridge/ferry/bridge/network"
	"github.com/ferrybridge/ferry/database"
	"github.com/ferrybridge/ferry/puppets"
)

// A remote account's owner can edit, on another of their devices, a
// message they sent from Matrix through Ferry (WhatsApp: a FromMe edit
// from the phone). Its Matrix event was sent by the Matrix user, and a
// replacement counts only from the original's sender: clients and the
// homeserver ignore one from the account's ghost, so the new text was
// never seen in Matrix. Ferry cannot send as the Matrix user, so such an
// edit goes as a reply to the original from the ghost, its text marked
// as an edit by the "* " an edit's fallback body begins with. An edit
// bringing a file brings it in the reply.
//
// Each such reply is stored as one more part of the message it edits,
// under a part ID of its own (editReplyPart): a deletion of the message
// for everyone then redacts its replies with it, rather than leaving its
// newer text in the room, and so does its deletion from Matrix
// (remote_edit_matrix_sent_deletion.go). Every edit is one more reply,
// each stored. A reply or reaction from Matrix to such a reply reaches
// the edited message; a redaction of one in Matrix deletes nothing on
// the network, and takes only that reply from the message's stored
// parts.

// editReplyPrefix begins the part ID of a stored edit reply. Networks'
// own part IDs are short indexes or names of theirs, never this.
const editReplyPrefix = "ferry-edit-reply/"

// editReplyPart is the part ID of the reply carrying the next edit of
// target: one per edit, by the edits before it, and the same for another
// try of the same edit (whose transaction ID, and so event, is the same).
func editReplyPart(target *database.Message) network.PartID {
	return network.PartID(fmt.Sprintf("%s%d/%s", editReplyPrefix, target.EditCount, target.Part))
}

// editedPart is the part an edit reply's part ID was made for, and
// whether part is an edit reply's at all.
func editedPart(part network.PartID) (network.PartID, bool) {
	rest, ok := strings.CutPrefix(string(part), editReplyPrefix)
	if !ok {
		return "", false
	}
	_, edited, ok := strings.Cut(rest, "/")
	return network.PartID(edited), ok
}

// isEditReply reports whether msg is a stored reply carrying an edit.
func isEditReply(msg *database.Message) bool {
	if msg == nil {
		return false
	}
	_, isReply := editedPart(msg.Part)
	return isReply
}

// withoutEditReplies is parts without the stored edit replies: the parts
// the network sent.
func withoutEditReplies(parts []*database.Message) []*database.Message {
	own := parts[:0:0]
	for _, part := range parts {
		if !isEditReply(part) {
			own = append(own, part)
		}
	}
	return own
}

// sentFromMatrix reports whether target's event was sent by a Matrix
// user (through Ferry), not by a ghost.
func (p *Portal) sentFromMatrix(target *database.Message) bool {
	if target.SenderMXID == "" {
		return false
	}
	_, isGhost := p.m.ghosts.ParseMXID(target.SenderMXID)
	return !isGhost
}

// editAsReply is the content carrying newContent, an edit of target, as
// a reply to it (see above). Text kinds keep their msgtype, and so does a
// file the edit brings, with its URL and name (a sticker's is sent as a
// sticker event, partEventType); a caption edit of a file without one,
// or a location's, is its text.
func editAsReply(newContent *event.MessageEventContent, target *database.Message) *event.MessageEventContent {
	content := &event.MessageEventContent{
		MsgType:  newContent.MsgType,
		Body:     "* " + newContent.Body,
		Mentions: newContent.Mentions,
	}
	switch {
	case content.MsgType == event.MsgText, content.MsgType == event.MsgNotice, content.MsgType == event.MsgEmote:
	case content.MsgType.IsMedia() && (newContent.URL != "" || newContent.File != nil):
		// A sticker keeps its msgtype, and goes as a sticker event
		// (partEventType), as the edited sticker did.
		content.URL, content.File, content.Info = newContent.URL, newContent.File, newContent.Info
		// Without a file name the body was the name: the "* " is no part
		// of it.
		content.FileName = newContent.FileName
		if content.FileName == "" {
			content.FileName = newContent.Body
		}
	default:
		content.MsgType = event.MsgText
	}
	if newContent.FormattedBody != "" {
		content.Format, content.FormattedBody = newContent.Format, "* "+newContent.FormattedBody
	}
	content.RelatesTo = (&event.RelatesTo{}).SetReplyTo(target.EventID)
	return content
}

// editReplyQuote is the text of the edited message quoted by a reply to
// a reply carrying its edit (text, the reply's): the "* " marks the reply
// as an edit in Matrix only, and the network's message reads without it.
func editReplyQuote(text string) string {
	return strings.TrimPrefix(text, "* ")
}

// storeEditReply stores eventID, ghost's reply carrying edit of target,
// as a part of target's message, so that the message's deletion takes it
// along. Another try of the same edit finds it stored already.
func (p *Portal) storeEditReply(ctx context.Context, ghost *puppets.Ghost, edit *network.Edit, target *database.Message, eventID id.EventID) error {
	err := p.m.db.Messages.Put(ctx, &database.Message{
		Portal: p.Key, ID: target.ID, Part: editReplyPart(target), EventID: eventID, RoomID: p.RoomID,
		Sender: edit.Sender.User, SenderMXID: ghost.MXID, Timestamp: edit.Timestamp,
	})
	if err != nil && !errors.Is(err, database.ErrDuplicate) {
		return fmt.Errorf("store the reply carrying the edit: %w", err)
	}
	return nil
}

// forgetEditReply removes reply, a stored reply carrying an edit that
// was redacted in Matrix, from its message's parts: its event is gone,
// and a later reaction, reply or deletion must not find it. The message
// and its other replies stay.
func (p *Portal) forgetEditReply(ctx context.Context, reply *database.Message) error {
	if err := p.m.db.Messages.DeletePart(ctx, p.Key, reply.ID, reply.Part); err != nil {
		return fmt.Errorf("forget the redacted reply carrying an edit: %w", err)
	}
	return nil
}
