package waconv

import (
	"context"
	"math"
	"slices"
	"strconv"
	"strings"

	"go.mau.fi/util/variationselector"
	"go.mau.fi/whatsmeow/proto/waE2E"
	"go.mau.fi/whatsmeow/types"
	"google.golang.org/protobuf/proto"
	"maunium.net/go/mautrix/event"
	"maunium.net/go/mautrix/format"
	"maunium.net/go/mautrix/id"

	"github.com/ferrybridge/ferry/bridge/network"
)

// FromMatrix converts a Matrix message for WhatsApp. media is the fetched
// file of a media message (nil for others); reply is the message answered,
// if any. What WhatsApp cannot show returns a network.UserError.
//
// Emotes become "/me text": WhatsApp has no emotes, and the sender's name
// is already shown above the message.
func FromMatrix(ctx context.Context, content *event.MessageEventContent, media *network.Media, reply *network.ReplyTarget, deps OutDeps) (*waE2E.Message, error) {
	if content == nil {
		return nil, network.UserErrorf("the message has no content")
	}
	ci := replyContext(reply, deps)
	switch content.MsgType {
	case event.MsgText, event.MsgNotice, event.MsgEmote, "":
		text, mentioned := matrixText(ctx, content, deps)
		if content.MsgType == event.MsgEmote {
			text = "/me " + text
		}
		if strings.TrimSpace(text) == "" {
			return nil, network.UserErrorf("empty messages cannot be sent to WhatsApp")
		}
		ci = withMentions(ci, mentioned)
		if ci == nil {
			return &waE2E.Message{Conversation: proto.String(text)}, nil
		}
		return &waE2E.Message{ExtendedTextMessage: &waE2E.ExtendedTextMessage{
			Text:        proto.String(text),
			ContextInfo: ci,
		}}, nil
	case event.MsgImage, event.MsgVideo, event.MsgAudio, event.MsgFile, event.MessageType(event.EventSticker.Type):
		return mediaToWhatsApp(ctx, content, media, ci, deps)
	case event.MsgLocation:
		lat, long, err := parseGeoURI(content.GeoURI)
		if err != nil {
			return nil, &network.UserError{Message: "the location could not be read", Err: err}
		}
		loc := &waE2E.LocationMessage{
			DegreesLatitude:  proto.Float64(lat),
			DegreesLongitude: proto.Float64(long),
			ContextInfo:      ci,
		}
		// Clients put the coordinates in the body; anything else is a
		// description worth keeping.
		if body := strings.TrimSpace(content.Body); body != "" && !strings.Contains(body, "geo:") {
			loc.Comment = proto.String(body)
		}
		return &waE2E.Message{LocationMessage: loc}, nil
	default:
		return nil, network.UserErrorf("%s messages are not supported on WhatsApp", network.Literal(string(content.MsgType)))
	}
}

// EditMessage converts the new content of an edited Matrix message into
// the edit protobuf Builder.BuildEdit makes. Only text can be edited
// through Ferry: a new caption would need the file's WhatsApp keys again.
func EditMessage(ctx context.Context, b Builder, chat types.JID, target network.MessageID, content *event.MessageEventContent, deps OutDeps) (*waE2E.Message, error) {
	if content == nil {
		return nil, network.UserErrorf("the edit has no content")
	}
	switch content.MsgType {
	case event.MsgText, event.MsgNotice, event.MsgEmote, "":
	default:
		return nil, network.UserErrorf("only text can be edited on WhatsApp; send a new message instead")
	}
	inner, err := FromMatrix(ctx, content, nil, nil, deps)
	if err != nil {
		return nil, err
	}
	return b.BuildEdit(chat, types.MessageID(target), inner), nil
}

// RevokeMessage deletes a message for everyone. sender is the target's
// sender: the own JID (or empty) for own messages, another member's JID
// when an admin deletes theirs.
func RevokeMessage(b Builder, chat, sender types.JID, target network.MessageID) *waE2E.Message {
	return b.BuildRevoke(chat, sender, types.MessageID(target))
}

// ReactionMessage sets the own reaction on a message sent by sender; key
// "" removes it. WhatsApp reacts with emoji only, sent without variation
// selectors; Matrix custom emoji (mxc:// keys) are refused.
func ReactionMessage(b Builder, chat, sender types.JID, target network.MessageID, key string) (*waE2E.Message, error) {
	if strings.HasPrefix(key, "mxc://") {
		return nil, network.UserErrorf("custom emoji reactions are not supported on WhatsApp")
	}
	return b.BuildReaction(chat, sender, types.MessageID(target), variationselector.Remove(key)), nil
}

// replyContext quotes the replied-to message the way WhatsApp clients do:
// its ID, its sender, and a minimal copy of its text.
func replyContext(reply *network.ReplyTarget, deps OutDeps) *waE2E.ContextInfo {
	if reply == nil || reply.ID == "" {
		return nil
	}
	ci := &waE2E.ContextInfo{
		StanzaID:      proto.String(string(reply.ID)),
		QuotedMessage: &waE2E.Message{Conversation: proto.String(reply.Text)},
	}
	var jid types.JID
	ok := false
	if deps.ReplySender != nil {
		jid, ok = deps.ReplySender(reply.Sender)
	} else if reply.Sender != "" {
		parsed, err := types.ParseJID(string(reply.Sender))
		jid, ok = parsed, err == nil && parsed.User != ""
	}
	if ok && !jid.IsEmpty() {
		ci.Participant = proto.String(jid.ToNonAD().String())
	}
	return ci
}

func withMentions(ci *waE2E.ContextInfo, mentioned []string) *waE2E.ContextInfo {
	if len(mentioned) == 0 {
		return ci
	}
	if ci == nil {
		ci = &waE2E.ContextInfo{}
	}
	ci.MentionedJID = mentioned
	return ci
}

// parseGeoURI reads latitude and longitude from an RFC 5870 geo URI.
func parseGeoURI(uri string) (lat, long float64, err error) {
	rest, ok := strings.CutPrefix(strings.TrimSpace(uri), "geo:")
	if !ok {
		return 0, 0, network.UserErrorf("not a geo: URI")
	}
	coords, _, _ := strings.Cut(rest, ";")
	parts := strings.Split(coords, ",")
	if len(parts) < 2 || len(parts) > 3 {
		return 0, 0, network.UserErrorf("a geo: URI needs latitude and longitude")
	}
	lat, err1 := strconv.ParseFloat(strings.TrimSpace(parts[0]), 64)
	long, err2 := strconv.ParseFloat(strings.TrimSpace(parts[1]), 64)
	if err1 != nil || err2 != nil || math.Abs(lat) > 90 || math.Abs(long) > 180 ||
		math.IsNaN(lat) || math.IsNaN(long) {
		return 0, 0, network.UserErrorf("coordinates out of range")
	}
	return lat, long, nil
}

// Matrix HTML → WhatsApp markup.

type ctxKey string

const (
	keyResolve   ctxKey = "resolve"
	keyMentioned ctxKey = "mentioned"
	keyAllowed   ctxKey = "allowed"
)

// whatsAppHTMLParser renders Matrix HTML as WhatsApp markup. Underline,
// colours and headers have no WhatsApp form and become plain text;
// quotes and lists keep WhatsApp's own "> " and "* " syntax.
var whatsAppHTMLParser = &format.HTMLParser{
	TabsToSpaces:           4,
	Newline:                "\n",
	HorizontalLine:         "\n---\n",
	BoldConverter:          styler("*"),
	ItalicConverter:        styler("_"),
	StrikethroughConverter: styler("~"),
	MonospaceConverter: func(code string, _ format.Context) string {
		if strings.ContainsRune(code, '\n') {
			return "```" + code + "```"
		}
		return styler("`")(code, format.Context{})
	},
	MonospaceBlockConverter: func(code, _ string, _ format.Context) string {
		code = strings.TrimSuffix(code, "\n")
		if strings.TrimSpace(code) == "" {
			return code
		}
		return "```\n" + code + "\n```"
	},
	PillConverter: pillToWhatsApp,
}

// styler wraps each line's text in a marker, keeping the surrounding
// spaces outside: WhatsApp styles only "*text*", never "* text *", and
// never across lines.
func styler(marker string) format.TextConverter {
	return func(s string, _ format.Context) string {
		lines := strings.Split(s, "\n")
		for i, line := range lines {
			trimmed := strings.TrimSpace(line)
			if trimmed == "" {
				continue
			}
			start := strings.Index(line, trimmed)
			lines[i] = line[:start] + marker + trimmed + marker + line[start+len(trimmed):]
		}
		return strings.Join(lines, "\n")
	}
}

func pillToWhatsApp(displayname, mxid, eventID string, ctx format.Context) string {
	if !strings.HasPrefix(mxid, "@") {
		return format.DefaultPillConverter(displayname, mxid, eventID, ctx)
	}
	user := id.UserID(mxid)
	if allowed, ok := ctx.ReturnData[string(keyAllowed)].(*event.Mentions); ok && allowed != nil && !allowed.Has(user) {
		return displayname
	}
	resolve, _ := ctx.ReturnData[string(keyResolve)].(func(id.UserID) (types.JID, bool))
	if resolve == nil {
		return displayname
	}
	jid, ok := resolve(user)
	if !ok || jid.User == "" {
		return displayname
	}
	if mentioned, ok := ctx.ReturnData[string(keyMentioned)].(*[]string); ok {
		if s := jid.ToNonAD().String(); !slices.Contains(*mentioned, s) {
			*mentioned = append(*mentioned, s)
		}
	}
	return "@" + jid.User
}

// matrixText is the WhatsApp text of a Matrix message (its caption, for
// files) and the JIDs it mentions.
func matrixText(ctx context.Context, content *event.MessageEventContent, deps OutDeps) (string, []string) {
	if content.Format != event.FormatHTML || content.FormattedBody == "" {
		return strings.ToValidUTF8(content.Body, "\uFFFD"), nil
	}
	return htmlToWhatsApp(ctx, content.FormattedBody, content.Mentions, deps.Mention)
}

// htmlToWhatsApp converts Matrix HTML. Pills of users outside allowed
// (the event's m.mentions, when it has them) stay plain names.
func htmlToWhatsApp(ctx context.Context, htmlText string, allowed *event.Mentions, resolve func(id.UserID) (types.JID, bool)) (string, []string) {
	var mentioned []string
	pctx := format.NewContext(ctx)
	pctx.ReturnData[string(keyMentioned)] = &mentioned
	pctx.ReturnData[string(keyAllowed)] = allowed
	if resolve != nil {
		pctx.ReturnData[string(keyResolve)] = resolve
	}
	text := whatsAppHTMLParser.Parse(htmlText, pctx)
	return strings.ToValidUTF8(text, "\uFFFD"), mentioned
}
