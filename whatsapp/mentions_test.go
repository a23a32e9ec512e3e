package whatsapp

import (
	"strings"
	"testing"

	"go.mau.fi/whatsmeow/proto/waE2E"
	"go.mau.fi/whatsmeow/types"
	"go.mau.fi/whatsmeow/types/events"
	"google.golang.org/protobuf/proto"
	"maunium.net/go/mautrix/event"
	"maunium.net/go/mautrix/id"

	"github.com/ferrybridge/ferry/bridge/network"
)

func TestIncomingMentionsBecomePills(t *testing.T) {
	env := newEnv(t, sqliteDB(t), "")
	if _, _, err := env.device.Contacts.PutPushName(env.ctx, bobPN, "Bobby"); err != nil {
		t.Fatal(err)
	}
	// Carl's number is known privately: in a group he stays a LID ghost.
	if err := env.device.LIDs.PutLIDMapping(env.ctx, carlLID, types.NewJID("4915100000003", types.DefaultUserServer)); err != nil {
		t.Fatal(err)
	}
	evt := &events.Message{
		Info: types.MessageInfo{MessageSource: types.MessageSource{Chat: group, Sender: bobPN, IsGroup: true}, ID: "M1", Timestamp: msgTime},
		RawMessage: &waE2E.Message{ExtendedTextMessage: &waE2E.ExtendedTextMessage{
			Text:        proto.String("@4915100000001 meet @4915100000002 and @300000000003"),
			ContextInfo: &waE2E.ContextInfo{MentionedJID: []string{ownPN.String(), bobPN.String(), carlLID.String()}},
		}},
	}
	if !env.dispatch(evt) {
		t.Fatal("not acknowledged")
	}
	_, handled := env.host.take()
	content := handled[0].(*network.Message).Parts[0].Content
	want := []id.UserID{"@alice:example.org", "@whatsapp_4915100000002:example.org", "@whatsapp_lid-300000000003:example.org"}
	if content.Mentions == nil || len(content.Mentions.UserIDs) != 3 {
		t.Fatalf("mentions %+v in %q", content.Mentions, content.FormattedBody)
	}
	for i, mxid := range want {
		if content.Mentions.UserIDs[i] != mxid || !strings.Contains(content.FormattedBody, mxid.URI().MatrixToURL()) {
			t.Errorf("mention %d: %v not in %+v / %q", i, mxid, content.Mentions.UserIDs, content.FormattedBody)
		}
	}
	if !strings.Contains(content.FormattedBody, ">Bobby</a>") || strings.Contains(content.Body, "4915100000003") {
		t.Errorf("body %q / %q", content.Body, content.FormattedBody)
	}
}

func TestOutgoingPillsBecomeMentions(t *testing.T) {
	env := newEnv(t, sqliteDB(t), "")
	bob := id.UserID("@whatsapp_4915100000002:example.org")
	lookalike := id.UserID("@whatsapp_4915100000009:elsewhere.example")
	content := &event.MessageEventContent{
		MsgType: event.MsgText, Body: "Bob Mallory hi", Format: event.FormatHTML,
		FormattedBody: `<a href="` + bob.URI().MatrixToURL() + `">Bob</a> <a href="` + lookalike.URI().MatrixToURL() + `">Mallory</a> hi`,
		Mentions:      &event.Mentions{UserIDs: []id.UserID{bob, lookalike}},
	}
	if _, err := env.cl.Send(env.ctx, &network.OutgoingMessage{OutgoingMeta: outMeta(groupPortal(group)), Content: content}); err != nil {
		t.Fatal(err)
	}
	assertProto(t, "mention", withoutSecret(t, env.wa.lastSent(t).Msg), &waE2E.Message{ExtendedTextMessage: &waE2E.ExtendedTextMessage{
		Text:        proto.String("@4915100000002 Mallory hi"),
		ContextInfo: &waE2E.ContextInfo{MentionedJID: []string{bobPN.String()}},
	}})
}
