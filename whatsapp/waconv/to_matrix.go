package waconv

import (
	"bytes"
	"context"
	"fmt"
	"html"
	"io"
	"slices"
	"strconv"
	"strings"

	"go.mau.fi/util/variationselector"
	"go.mau.fi/whatsmeow/proto/waE2E"
	"go.mau.fi/whatsmeow/types"
	"go.mau.fi/whatsmeow/types/events"
	"maunium.net/go/mautrix/event"

	"github.com/ferrybridge/ferry/bridge/network"
)

// Unwrap is msg's content out of its ephemeral, view-once, device-sent,
// document-with-caption or edit envelopes, by whatsmeow's own unwrapping.
func Unwrap(msg *waE2E.Message) *waE2E.Message {
	return (&events.Message{RawMessage: msg}).UnwrapRaw().Message
}

// ToMatrix converts a WhatsApp message. msg may be raw (wrapped in
// ephemeral, view-once, device-sent, document-with-caption or edit
// envelopes) or already unwrapped; info may be nil. Nothing is dropped
// silently: a message type Ferry does not know becomes a notice saying so.
// Media is not fetched here but by Part.Media, so a download error reaches
// the core, which shows it as a notice. The error result is nil today; it
// is there for conversions that may have to fail up front.
func ToMatrix(ctx context.Context, msg *waE2E.Message, info *types.MessageInfo, deps Deps) (*Converted, error) {
	if msg == nil {
		return &Converted{Kind: KindIgnored}, nil
	}
	msg = Unwrap(msg)

	if pm := msg.GetProtocolMessage(); pm != nil {
		target := network.MessageID(pm.GetKey().GetID())
		switch pm.GetType() {
		case waE2E.ProtocolMessage_REVOKE:
			return &Converted{Kind: KindRevoke, Target: target}, nil
		case waE2E.ProtocolMessage_MESSAGE_EDIT:
			if pm.GetEditedMessage() == nil {
				return &Converted{Kind: KindIgnored}, nil
			}
			parts, _ := convertContent(ctx, pm.GetEditedMessage(), deps)
			return &Converted{Kind: KindEdit, Target: target, Parts: editParts(parts)}, nil
		default:
			return &Converted{Kind: KindIgnored}, nil
		}
	}
	if r := msg.GetReactionMessage(); r != nil {
		emoji := r.GetText()
		if emoji != "" {
			emoji = variationselector.Add(emoji)
		}
		return &Converted{Kind: KindReaction, Target: network.MessageID(r.GetKey().GetID()), Emoji: emoji}, nil
	}
	if info != nil && info.ID != "" {
		switch info.Edit {
		case types.EditAttributeSenderRevoke, types.EditAttributeAdminRevoke:
			// Newsletter revokes name their target in the stanza.
			return &Converted{Kind: KindRevoke, Target: network.MessageID(info.ID)}, nil
		case types.EditAttributeAdminEdit:
			// Newsletter edits carry the new content unwrapped.
			parts, _ := convertContent(ctx, msg, deps)
			return &Converted{Kind: KindEdit, Target: network.MessageID(info.ID), Parts: editParts(parts)}, nil
		}
	}
	if pin := msg.GetPinInChatMessage(); pin != nil && typeName(msg) == "pinInChatMessage" {
		// A pin alone; content beside it (typeName's rule) wins.
		return pinConverted(pin, msg.GetMessageContextInfo()), nil
	}
	if ignored(msg) {
		return &Converted{Kind: KindIgnored}, nil
	}
	parts, ci := convertContent(ctx, msg, deps)
	c := &Converted{Kind: KindMessage, Parts: fitForMatrix(parts)}
	if stanza := ci.GetStanzaID(); stanza != "" {
		c.ReplyTo = &network.MessageRef{ID: network.MessageID(stanza)}
	}
	return c, nil
}

// editParts readies the parts of an edit. WhatsApp edits only the text
// of a media message (its caption); the edited message names no file, so
// a part carries no Media, and the core then keeps the original file
// rather than try a download that fails and replaces the file with an
// error notice. With a caption the file name here is only mediaPart's
// guess from a message without the file's details ("image", "document"),
// so it is left out too, and the core keeps the original's; without one
// the name is also the body, and stays.
func editParts(parts []network.Part) []network.Part {
	for i := range parts {
		if parts[i].Media == nil {
			continue
		}
		parts[i].Media = nil
		if c := parts[i].Content; c.Body != c.FileName {
			c.FileName = ""
		}
	}
	return parts
}

// housekeeping fields never make a Matrix event on their own.
var housekeeping = map[string]bool{
	"messageContextInfo":                         true,
	"senderKeyDistributionMessage":               true,
	"fastRatchetKeySenderKeyDistributionMessage": true,
}

// silent message types act on other messages; Matrix has no use for them
// (poll votes and encrypted reactions need the client to decrypt them
// first; the network hands decrypted ones back as ordinary messages).
// Answers to an event invitation (RSVPs) act on the event, which Ferry
// does not bridge, as votes act on polls it shows only as notices.
// An album's header only says how many photos and videos are coming; each
// comes as a message of its own, which is shown. A pin alone is shown by
// ToMatrix (pinConverted) before this list is asked.
var silent = map[string]bool{
	"albumMessage":            true,
	"pollUpdateMessage":       true,
	"encEventResponseMessage": true,
	"encReactionMessage":      true,
	"keepInChatMessage":       true,
	"pinInChatMessage":        true,
	"stickerSyncRmrMessage":   true,
}

// typeName names the message's content field ("groupInviteMessage"), or
// its silent field when it has no other, or "" when it has only
// housekeeping fields, or "unknown" for fields this whatsmeow version
// does not know. A content field wins over a silent one whatever their
// order in the protobuf: a sender can set both, and the content must
// not be dropped for the silent field beside it.
func typeName(msg *waE2E.Message) string {
	m := msg.ProtoReflect()
	fields := m.Descriptor().Fields()
	var quiet string
	for i := 0; i < fields.Len(); i++ {
		fd := fields.Get(i)
		name := string(fd.Name())
		switch {
		case !m.Has(fd) || housekeeping[name]:
		case !silent[name]:
			return name
		case quiet == "":
			quiet = name
		}
	}
	if quiet != "" {
		return quiet
	}
	if len(m.GetUnknown()) > 0 {
		return "unknown"
	}
	return ""
}

func ignored(msg *waE2E.Message) bool {
	name := typeName(msg)
	return name == "" || silent[name]
}

// contextInfoer is every content message that can quote and mention.
type contextInfoer interface {
	GetContextInfo() *waE2E.ContextInfo
}

// convertContent converts the content of an unwrapped message and returns
// the ContextInfo of the part that carried it.
func convertContent(ctx context.Context, msg *waE2E.Message, deps Deps) ([]network.Part, *waE2E.ContextInfo) {
	var part network.Part
	var parts []network.Part
	var ci *waE2E.ContextInfo
	switch {
	case msg.Conversation != nil:
		part = textPart(msg.GetConversation(), nil, deps)
	case msg.ExtendedTextMessage != nil:
		ci = msg.GetExtendedTextMessage().GetContextInfo()
		part = textPart(msg.GetExtendedTextMessage().GetText(), ci, deps)
	case msg.ImageMessage != nil, msg.VideoMessage != nil, msg.PtvMessage != nil,
		msg.AudioMessage != nil, msg.DocumentMessage != nil, msg.StickerMessage != nil:
		part, ci = mediaPart(msg, deps)
	case msg.LocationMessage != nil:
		ci = msg.GetLocationMessage().GetContextInfo()
		part = locationPart(msg.GetLocationMessage())
	case msg.LiveLocationMessage != nil:
		ci = msg.GetLiveLocationMessage().GetContextInfo()
		parts = liveLocationParts(msg.GetLiveLocationMessage())
	case msg.ContactMessage != nil:
		ci = msg.GetContactMessage().GetContextInfo()
		part = contactPart(msg.GetContactMessage())
	case msg.ContactsArrayMessage != nil:
		ci = msg.GetContactsArrayMessage().GetContextInfo()
		parts = contactParts(msg.GetContactsArrayMessage())
	case msg.EventMessage != nil:
		ci = msg.GetEventMessage().GetContextInfo()
		part = eventPart(msg.GetEventMessage(), deps)
	case msg.GroupInviteMessage != nil:
		ci = msg.GetGroupInviteMessage().GetContextInfo()
		part = groupInvitePart(msg.GetGroupInviteMessage(), deps)
	case pollOf(msg) != nil:
		poll := pollOf(msg)
		ci = poll.GetContextInfo()
		part = pollPart(poll)
	case businessOf(msg) != nil && !businessOf(msg).empty():
		b := businessOf(msg)
		ci = b.ci
		part = businessPart(b, deps)
	case businessAnswered(msg):
		// A button or list entry tapped, on the phone: what it said.
		var text string
		text, ci, _ = businessAnswer(msg)
		part = textPart(text, ci, deps)
	default:
		name := typeName(msg)
		if name == "" {
			name = "empty"
		}
		part = unsupportedPart(name)
	}
	if parts == nil {
		parts = []network.Part{part}
	}
	for _, p := range parts {
		if p.Content.Mentions == nil {
			p.Content.Mentions = &event.Mentions{}
		}
	}
	return parts, ci
}

func unsupportedPart(what string) network.Part {
	return network.Part{Content: &event.MessageEventContent{
		MsgType: event.MsgNotice,
		Body:    fmt.Sprintf("Unsupported WhatsApp message type %s; open WhatsApp to see it", what),
	}}
}

// mentionTargets resolves the JIDs a message mentions, keyed by the
// digits its text shows after "@".
func mentionTargets(ci *waE2E.ContextInfo, deps Deps) map[string]mentionTarget {
	if deps.Mention == nil || len(ci.GetMentionedJID()) == 0 {
		return nil
	}
	targets := make(map[string]mentionTarget, len(ci.GetMentionedJID()))
	for _, raw := range ci.GetMentionedJID() {
		jid, err := types.ParseJID(raw)
		if err != nil || jid.User == "" {
			continue
		}
		if name, mxid, ok := deps.Mention(jid); ok && mxid != "" {
			targets[jid.User] = mentionTarget{name: name, mxid: mxid}
		}
	}
	return targets
}

// setText fills body and formatting from WhatsApp text.
func setText(content *event.MessageEventContent, text string, ci *waE2E.ContextInfo, deps Deps) {
	f := whatsAppToMatrix(text, mentionTargets(ci, deps))
	content.Body = f.body
	if f.html != "" {
		content.Format = event.FormatHTML
		content.FormattedBody = f.html
	}
	content.Mentions = &event.Mentions{UserIDs: f.mentions}
}

func textPart(text string, ci *waE2E.ContextInfo, deps Deps) network.Part {
	content := &event.MessageEventContent{MsgType: event.MsgText}
	setText(content, text, ci, deps)
	return network.Part{Content: content}
}

// coordDecimals is how precisely a coordinate is written: 6 decimals of
// a degree are about 0.1 m. The shortest exact form of a float can run
// to hundreds of digits (5e-324 is 0.000…5 with 323 zeros).
const coordDecimals = 6

// formatCoord writes a coordinate in degrees for a geo: URI and a body:
// at most coordDecimals decimals, without trailing zeros.
func formatCoord(f float64) string {
	s := strconv.FormatFloat(f, 'f', coordDecimals, 64)
	s = strings.TrimRight(strings.TrimRight(s, "0"), ".")
	if s == "-0" {
		return "0" // a coordinate rounded to nothing has no side
	}
	return s
}

// location builds an m.location content and its MSC3488 extras. With
// coordinates off the map (NaN, infinite, beyond ±90°/±180°, which a
// phone sends none of) it builds a notice instead: a geo: URI of them
// ("geo:NaN,+Inf") is one no client can read.
func location(lat, long float64, accuracy uint32, desc, prefix string, pin bool) (*event.MessageEventContent, map[string]any) {
	if !onMap(lat, long) {
		body := prefix
		if desc != "" {
			body += ": " + desc
		}
		return &event.MessageEventContent{
			MsgType: event.MsgNotice,
			Body:    body + " (its coordinates are not valid; open WhatsApp to see it)",
		}, nil
	}
	geo := "geo:" + formatCoord(lat) + "," + formatCoord(long)
	if accuracy > 0 {
		geo += ";u=" + strconv.FormatUint(uint64(accuracy), 10)
	}
	body := prefix
	if desc != "" {
		body += ": " + desc
	}
	content := &event.MessageEventContent{
		MsgType: event.MsgLocation,
		Body:    body + "\n" + geo,
		GeoURI:  geo,
	}
	asset := "m.self"
	if pin {
		asset = "m.pin"
	}
	extra := map[string]any{
		"org.matrix.msc3488.location": map[string]any{"uri": geo, "description": desc},
		"org.matrix.msc3488.asset":    map[string]any{"type": asset},
	}
	return content, extra
}

func joinNonEmpty(sep string, parts ...string) string {
	var kept []string
	for _, p := range parts {
		if p = strings.TrimSpace(p); p != "" {
			kept = append(kept, p)
		}
	}
	return strings.Join(kept, sep)
}

func locationPart(loc *waE2E.LocationMessage) network.Part {
	desc := joinNonEmpty(", ", loc.GetName(), loc.GetAddress(), loc.GetComment())
	pin := loc.GetName() != "" || loc.GetAddress() != ""
	content, extra := location(loc.GetDegreesLatitude(), loc.GetDegreesLongitude(),
		loc.GetAccuracyInMeters(), desc, "Location", pin)
	return network.Part{Content: content, Extra: extra}
}

// liveLocationParts shows where the live location started, and a notice
// that its updates stay in WhatsApp.
func liveLocationParts(loc *waE2E.LiveLocationMessage) []network.Part {
	content, extra := location(loc.GetDegreesLatitude(), loc.GetDegreesLongitude(),
		loc.GetAccuracyInMeters(), strings.TrimSpace(loc.GetCaption()), "Live location", false)
	notice := &event.MessageEventContent{
		MsgType: event.MsgNotice,
		Body:    "Started sharing a live location; open WhatsApp to follow it",
	}
	return []network.Part{
		{Content: content, Extra: extra},
		{ID: "live", Content: notice},
	}
}

func contactParts(arr *waE2E.ContactsArrayMessage) []network.Part {
	var parts []network.Part
	for i, c := range arr.GetContacts() {
		part := contactPart(c)
		if i > 0 {
			part.ID = network.PartID(strconv.Itoa(i))
		}
		parts = append(parts, part)
	}
	if len(parts) == 0 {
		parts = append(parts, network.Part{Content: &event.MessageEventContent{
			MsgType: event.MsgNotice,
			Body:    "Shared an empty contact list: " + arr.GetDisplayName(),
		}})
	}
	return parts
}

// pollOf returns the poll a message creates, whichever version.
func pollOf(msg *waE2E.Message) *waE2E.PollCreationMessage {
	for _, p := range []*waE2E.PollCreationMessage{
		msg.GetPollCreationMessage(), msg.GetPollCreationMessageV2(), msg.GetPollCreationMessageV3(),
		msg.GetPollCreationMessageV5(), msg.GetPollCreationMessageV6(),
	} {
		if p != nil {
			return p
		}
	}
	return nil
}

// pollPart renders a poll as a notice: voting happens in WhatsApp.
func pollPart(poll *waE2E.PollCreationMessage) network.Part {
	var body, formatted strings.Builder
	body.WriteString("Poll: " + poll.GetName())
	formatted.WriteString("<p><strong>Poll:</strong> " + html.EscapeString(poll.GetName()) + "</p><ol>")
	for i, opt := range poll.GetOptions() {
		fmt.Fprintf(&body, "\n%d. %s", i+1, opt.GetOptionName())
		formatted.WriteString("<li>" + html.EscapeString(opt.GetOptionName()) + "</li>")
	}
	formatted.WriteString("</ol>")
	hint := "Open WhatsApp to vote."
	if n := poll.GetSelectableOptionsCount(); n > 1 {
		hint = fmt.Sprintf("Up to %d choices. %s", n, hint)
	} else if n == 0 && len(poll.GetOptions()) > 1 {
		hint = "Any number of choices. " + hint
	}
	body.WriteString("\n" + hint)
	formatted.WriteString("<p>" + html.EscapeString(hint) + "</p>")
	return network.Part{Content: &event.MessageEventContent{
		MsgType:       event.MsgNotice,
		Body:          body.String(),
		Format:        event.FormatHTML,
		FormattedBody: formatted.String(),
	}}
}

// contactPart shares a vCard as a file, captioned with the name and
// phone numbers so that Matrix users see them without opening it.
func contactPart(c *waE2E.ContactMessage) network.Part {
	name := strings.TrimSpace(c.GetDisplayName())
	if name == "" {
		name = "Contact"
	}
	caption := "Contact: " + name
	if phones := vcardPhones(c.GetVcard()); len(phones) > 0 {
		caption += " (" + strings.Join(phones, ", ") + ")"
	}
	if c.GetVcard() == "" {
		return network.Part{Content: &event.MessageEventContent{MsgType: event.MsgText, Body: caption}}
	}
	fileName := cleanFileName(name) + ".vcf"
	data := []byte(c.GetVcard())
	return network.Part{
		Content: &event.MessageEventContent{
			MsgType:  event.MsgFile,
			Body:     caption,
			FileName: fileName,
			Info:     &event.FileInfo{MimeType: "text/vcard", Size: len(data)},
		},
		Media: func(context.Context) (*network.Media, error) {
			return &network.Media{
				Data:     io.NopCloser(bytes.NewReader(data)),
				MimeType: "text/vcard",
				FileName: fileName,
				Size:     int64(len(data)),
			}, nil
		},
	}
}

// vcardPhones reads the TEL values of a vCard ("TEL;type=CELL:+1 555",
// and WhatsApp's grouped "item1.TEL;waid=1555:+1 555"), without repeats.
func vcardPhones(vcard string) []string {
	var phones []string
	for _, line := range strings.Split(vcard, "\n") {
		name, value, ok := strings.Cut(strings.TrimSpace(line), ":")
		if !ok {
			continue
		}
		name, _, _ = strings.Cut(name, ";")
		if dot := strings.LastIndexByte(name, '.'); dot >= 0 {
			name = name[dot+1:]
		}
		value = strings.TrimSpace(strings.TrimPrefix(value, "tel:"))
		if strings.EqualFold(name, "TEL") && value != "" && !slices.Contains(phones, value) {
			phones = append(phones, value)
		}
	}
	return phones
}
