package portals

import (
	"maunium.net/go/mautrix/event"

	"github.com/ferrybridge/ferry/database"
)

// A remote account's owner can edit, on another of their devices, a
// message they sent from Matrix through Ferry (WhatsApp: a FromMe edit
// from the phone). Its Matrix event was sent by the Matrix user, and a
// replacement counts only from the original's sender: clients and the
// homeserver ignore one from the account's ghost, so the new text was
// never seen in Matrix. Ferry cannot send as the Matrix user, so such an
// edit goes as a reply to the original from the ghost, its text marked
// as an edit by the "* " an edit's fallback body begins with.

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
// a reply to it (see above). Only text kinds keep their msgtype: a
// caption edit of a file, or a location's, is its text.
func editAsReply(newContent *event.MessageEventContent, target *database.Message) *event.MessageEventContent {
	content := &event.MessageEventContent{
		MsgType:  newContent.MsgType,
		Body:     "* " + newContent.Body,
		Mentions: newContent.Mentions,
	}
	switch content.MsgType {
	case event.MsgText, event.MsgNotice, event.MsgEmote:
	default:
		content.MsgType = event.MsgText
	}
	if newContent.FormattedBody != "" {
		content.Format, content.FormattedBody = newContent.Format, "* "+newContent.FormattedBody
	}
	content.RelatesTo = (&event.RelatesTo{}).SetReplyTo(target.EventID)
	return content
}
