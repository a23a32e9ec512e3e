package waconv

import (
	"html"
	"strings"

	"go.mau.fi/whatsmeow/proto/waE2E"
	"maunium.net/go/mautrix/event"
	"maunium.net/go/mautrix/id"

	"github.com/ferrybridge/ferry/bridge/network"
)

// groupInvitePart shows an invitation to a WhatsApp group as text: a
// group admin sends one to a person they could not add. It names the
// group, carries a caption (WhatsApp text, converted as a text
// message's), and expires. It is shown, not acted on: accepting joins
// the group as the user, which Ferry does not do on its own (whatsmeow's
// JoinGroupWithInvite could), and Matrix has no button to ask with; so
// it says to accept on the phone, as an event's invitation does. The
// invite code is left out: it is no chat.whatsapp.com link, and works
// only with the inviter's message.
func groupInvitePart(inv *waE2E.GroupInviteMessage, deps Deps) network.Part {
	kind := "group"
	if inv.GetGroupType() == waE2E.GroupInviteMessage_PARENT {
		kind = "community"
	}
	var body []string
	var formatted strings.Builder
	if name := strings.TrimSpace(inv.GetGroupName()); name != "" {
		label := "Invitation to join the WhatsApp " + kind + " "
		body = append(body, label+name)
		formatted.WriteString("<p>" + html.EscapeString(label) + "<strong>" + htmlLines(name) + "</strong></p>")
	} else {
		label := "Invitation to join a WhatsApp " + kind
		body = append(body, label)
		formatted.WriteString("<p>" + html.EscapeString(label) + "</p>")
	}
	var mentions []id.UserID
	if caption := strings.TrimSpace(inv.GetCaption()); caption != "" {
		f := whatsAppToMatrix(caption, mentionTargets(inv.GetContextInfo(), deps))
		body = append(body, f.body)
		formatted.WriteString(markupBlock(f))
		mentions = f.mentions
	}
	if exp := inv.GetInviteExpiration(); exp > 0 {
		text := "Expires: " + eventTime(exp)
		body = append(body, text)
		formatted.WriteString("<p>" + html.EscapeString(text) + "</p>")
	}
	const hint = "Open WhatsApp to accept it."
	body = append(body, hint)
	formatted.WriteString("<p>" + hint + "</p>")
	return network.Part{Content: &event.MessageEventContent{
		MsgType:       event.MsgText,
		Body:          strings.Join(body, "\n"),
		Format:        event.FormatHTML,
		FormattedBody: formatted.String(),
		Mentions:      &event.Mentions{UserIDs: mentions},
	}}
}
