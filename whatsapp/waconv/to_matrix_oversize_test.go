package waconv

import (
	"context"
	"fmt"
	"io"
	"strings"
	"testing"

	"go.mau.fi/whatsmeow/proto/waCommon"
	"go.mau.fi/whatsmeow/proto/waE2E"
	"go.mau.fi/whatsmeow/types"
	"google.golang.org/protobuf/proto"
	"maunium.net/go/mautrix/event"
	"maunium.net/go/mautrix/id"

	"github.com/ferrybridge/ferry/bridge/network"
)

// longText is n bytes of WhatsApp text with bold words and non-ASCII
// letters; its HTML is longer than its plain body.
func longText(n int) string {
	const line = "Der *Bäcker* öffnet um sieben <früh>, & schließt um 18 Uhr.\n"
	text := strings.Repeat(line, n/len(line)+1)
	return text[:strings.LastIndex(text[:n], "\n")+1]
}

func toMatrixText(t *testing.T, text string) *Converted {
	t.Helper()
	conv, err := ToMatrix(context.Background(), &waE2E.Message{Conversation: proto.String(text)}, testInfo(), testDeps(nil))
	if err != nil {
		t.Fatal(err)
	}
	return conv
}

// readWhole reads a part's file as the core would upload it.
func readWhole(t *testing.T, p network.Part) string {
	t.Helper()
	if p.Media == nil {
		t.Fatalf("part %q has no file: %s", p.ID, dump(p.Content))
	}
	media, err := p.Media(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	defer media.Data.Close()
	data, err := io.ReadAll(media.Data)
	if err != nil {
		t.Fatal(err)
	}
	if media.MimeType != "text/plain; charset=utf-8" || media.Size != int64(len(data)) {
		t.Errorf("part %q's file is %q of %d bytes, want text/plain; charset=utf-8 of %d", p.ID, media.MimeType, media.Size, len(data))
	}
	return string(data)
}

func checkFits(t *testing.T, parts []network.Part) {
	t.Helper()
	for _, p := range parts {
		if n := contentSize(p); n > maxContentSize {
			t.Errorf("part %q is %d bytes of JSON, more than the %d an event has room for", p.ID, n, maxContentSize)
		}
	}
}

// TestToMatrixLongTextLosesItsFormattingFirst: a text whose HTML makes
// the event too large, but whose plain body fits, arrives as text
// without formatted_body.
func TestToMatrixLongTextLosesItsFormattingFirst(t *testing.T) {
	text := longText(maxContentSize * 2 / 3)
	conv := toMatrixText(t, text)
	if len(conv.Parts) != 1 {
		t.Fatalf("%d parts, want 1", len(conv.Parts))
	}
	c := conv.Parts[0].Content
	if c.MsgType != event.MsgText || c.Body != text || c.FormattedBody != "" || c.Format != "" || conv.Parts[0].Media != nil {
		t.Errorf("got %s, %d bytes of formatted body; want the plain text alone", c.MsgType, len(c.FormattedBody))
	}
	checkFits(t, conv.Parts)
	// A short one keeps its formatting.
	if c := toMatrixText(t, "a *bold* word").Parts[0].Content; c.FormattedBody != "a <strong>bold</strong> word" {
		t.Errorf("a short text lost its formatting: %q", c.FormattedBody)
	}
}

// TestToMatrixHugeTextIsAttached: a text too long even as plain text
// arrives as a text file with the whole text, its body the beginning.
func TestToMatrixHugeTextIsAttached(t *testing.T) {
	text := longText(3 * maxEventSize)
	conv := toMatrixText(t, text)
	if len(conv.Parts) != 1 {
		t.Fatalf("%d parts, want 1", len(conv.Parts))
	}
	p := conv.Parts[0]
	if p.Content.MsgType != event.MsgFile || p.Content.FileName != "message.txt" || p.Content.FormattedBody != "" {
		t.Errorf("got %s %q, want an m.file message.txt", p.Content.MsgType, p.Content.FileName)
	}
	if !strings.HasPrefix(p.Content.Body, text[:500]) || !strings.Contains(p.Content.Body, "the whole text is attached as message.txt") {
		t.Errorf("body %.120q… does not show the text's beginning and say it is attached", p.Content.Body)
	}
	if got := readWhole(t, p); got != text {
		t.Errorf("the file holds %d bytes, want the %d of the text", len(got), len(text))
	}
	checkFits(t, conv.Parts)
}

// TestToMatrixHugeCaptionFollowsItsFile: a photo with a caption too long
// keeps the photo with the caption's beginning, and the whole caption
// follows as a text file.
func TestToMatrixHugeCaptionFollowsItsFile(t *testing.T) {
	caption := longText(2 * maxEventSize)
	msg := &waE2E.Message{ImageMessage: &waE2E.ImageMessage{
		Caption: proto.String(caption), Mimetype: proto.String("image/jpeg"), FileLength: proto.Uint64(10),
		URL: proto.String("https://mmg.whatsapp.net/x"), DirectPath: proto.String("/x"), MediaKey: []byte("k"),
	}}
	conv, err := ToMatrix(context.Background(), msg, testInfo(), testDeps(nil))
	if err != nil {
		t.Fatal(err)
	}
	if len(conv.Parts) != 2 {
		t.Fatalf("%d parts, want the photo and its caption", len(conv.Parts))
	}
	photo, whole := conv.Parts[0], conv.Parts[1]
	if photo.ID != "" || photo.Content.MsgType != event.MsgImage || photo.Media == nil || photo.Content.FileName != "image.jpg" ||
		!strings.HasPrefix(photo.Content.Body, caption[:500]) || !strings.Contains(photo.Content.Body, "caption.txt") {
		t.Errorf("the photo part is %s %q with body %.80q…", photo.Content.MsgType, photo.Content.FileName, photo.Content.Body)
	}
	if whole.ID != "caption" || !IsWholeCaption(whole.ID) || IsWholeCaption(photo.ID) || whole.Content.FileName != "caption.txt" {
		t.Errorf("the caption part is %q named %q", whole.ID, whole.Content.FileName)
	}
	if got := readWhole(t, whole); got != caption {
		t.Errorf("the caption file holds %d bytes, want the %d of the caption", len(got), len(caption))
	}
	checkFits(t, conv.Parts)
}

// TestToMatrixHugeEditGoesAsAMessage: an edit fits as an edit without
// its formatting if it can; one too long even so cannot be a Matrix edit
// and becomes a message with the new text attached.
func TestToMatrixHugeEditGoesAsAMessage(t *testing.T) {
	edit := func(text string) []network.Part {
		t.Helper()
		msg := &waE2E.Message{ProtocolMessage: &waE2E.ProtocolMessage{
			Type:          waE2E.ProtocolMessage_MESSAGE_EDIT.Enum(),
			Key:           &waCommon.MessageKey{RemoteJID: proto.String(groupJID.String()), ID: proto.String("3EB0OLD")},
			EditedMessage: &waE2E.Message{Conversation: proto.String(text)},
		}}
		info := testInfo()
		info.Edit = types.EditAttributeMessageEdit
		conv, err := ToMatrix(context.Background(), msg, info, testDeps(nil))
		if err != nil || conv.Kind != KindEdit {
			t.Fatalf("ToMatrix = %+v, %v", conv, err)
		}
		return conv.Parts
	}
	medium := longText(maxContentSize * 2 / 3)
	parts, ok := FitEdit(edit(medium))
	if !ok || len(parts) != 1 || parts[0].Content.Body != medium || parts[0].Content.FormattedBody != "" {
		t.Errorf("FitEdit of a long formatted edit = %v; want it plain", ok)
	}
	huge := longText(2 * maxEventSize)
	if _, ok = FitEdit(edit(huge)); ok {
		t.Fatal("FitEdit took an edit too long for any event")
	}
	msg := EditAsMessage(edit(huge))
	if len(msg) != 1 {
		t.Fatalf("%d parts, want 1", len(msg))
	}
	if c := msg[0].Content; c.MsgType != event.MsgFile || !strings.HasPrefix(c.Body, "* "+huge[:500]) || !strings.Contains(c.Body, "message.txt") {
		t.Errorf("the edit's message is %s with body %.80q…", c.MsgType, c.Body)
	}
	if got := readWhole(t, msg[0]); got != huge {
		t.Errorf("the file holds %d bytes, want the %d of the edit", len(got), len(huge))
	}
	checkFits(t, msg)
}

// TestToMatrixExcerptCutsBetweenWords: the body of a text too long shows
// its beginning, cut after a word and marked as cut.
func TestToMatrixExcerptCutsBetweenWords(t *testing.T) {
	text := strings.Repeat("wörter ", 400)
	got := excerpt(text)
	if !strings.HasSuffix(got, "wörter …") || !strings.HasPrefix(text, strings.TrimSuffix(got, " …")) || len([]rune(got)) > excerptRunes+2 {
		t.Errorf("excerpt = %q", got)
	}
	if short := "kurz"; excerpt(short) != short {
		t.Errorf("a short text was cut: %q", excerpt(short))
	}
}

// TestToMatrixHugeCaptionWithManyMentionsFits: a caption too long that
// mentions more people than an event has room for (a sender can list
// any number) still leaves its photo an event that fits: the photo goes
// without the mentions, its beginning and the whole caption as before.
func TestToMatrixHugeCaptionWithManyMentionsFits(t *testing.T) {
	deps := testDeps(nil)
	deps.Mention = func(jid types.JID) (string, id.UserID, bool) {
		return "Member " + jid.User, id.UserID("@whatsapp_" + jid.User + ":example.org"), true
	}
	var jids []string
	var caption strings.Builder
	for i := range 2000 {
		number := fmt.Sprintf("49151%08d", i)
		jids = append(jids, number+"@s.whatsapp.net")
		caption.WriteString("@" + number + " ")
	}
	msg := &waE2E.Message{ImageMessage: &waE2E.ImageMessage{
		Caption: proto.String(caption.String()), Mimetype: proto.String("image/jpeg"), FileLength: proto.Uint64(10),
		URL: proto.String("https://mmg.whatsapp.net/x"), DirectPath: proto.String("/x"), MediaKey: []byte("k"),
		ContextInfo: &waE2E.ContextInfo{MentionedJID: jids},
	}}
	conv, err := ToMatrix(context.Background(), msg, testInfo(), deps)
	if err != nil {
		t.Fatal(err)
	}
	if len(conv.Parts) != 2 || conv.Parts[0].Content.MsgType != event.MsgImage || conv.Parts[1].ID != "caption" {
		t.Fatalf("got %d parts; want the photo and its caption", len(conv.Parts))
	}
	checkFits(t, conv.Parts)
	if got := readWhole(t, conv.Parts[1]); !strings.HasPrefix(got, "Member 4915100000000 Member 4915100000001 ") {
		t.Errorf("the caption file begins %.40q", got)
	}
}
