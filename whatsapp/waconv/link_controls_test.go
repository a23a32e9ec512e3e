package waconv

import (
	"context"
	"reflect"
	"testing"

	"go.mau.fi/whatsmeow/proto/waE2E"
	"go.mau.fi/whatsmeow/types"
	"google.golang.org/protobuf/proto"
	"maunium.net/go/mautrix/event"
	"maunium.net/go/mautrix/id"
)

// urlButton is a template's link button.
func urlButton(label, url string) *waE2E.HydratedTemplateButton {
	return &waE2E.HydratedTemplateButton{HydratedButton: &waE2E.HydratedTemplateButton_UrlButton{UrlButton: &waE2E.HydratedTemplateButton_HydratedURLButton{
		DisplayText: proto.String(label), URL: proto.String(url)}}}
}

// TestToMatrixLinksCarryNoControlCharacters: a sender chooses a link's
// text and address (a business's button, a place's name, the name a
// mention shows, a link in a text). Control characters (C0 and C1: NUL,
// escape sequences, NEL) are left out of a link's text, blanks among
// them becoming spaces; an address with one is no link (a button's), or
// the link ends before it (one in a text).
func TestToMatrixLinksCarryNoControlCharacters(t *testing.T) {
	text := func(body, formatted string) converted {
		return converted{Parts: []part{{Content: &event.MessageEventContent{
			MsgType: event.MsgText, Body: body, Format: event.FormatHTML, FormattedBody: formatted, Mentions: noMentions,
		}}}}
	}
	mentioned := text("hi Alice Smith", `hi <a href="https://matrix.to/#/@whatsapp_4915112345678:example.org">Alice Smith</a>`)
	mentioned.Parts[0].Content.Mentions = &event.Mentions{UserIDs: []id.UserID{aliceMX}}
	runToMatrix(t, []toMatrixCase{
		{
			name: "business buttons",
			msg: &waE2E.Message{TemplateMessage: &waE2E.TemplateMessage{HydratedTemplate: &waE2E.TemplateMessage_HydratedFourRowTemplate{
				HydratedContentText: proto.String("Order"),
				HydratedButtons: []*waE2E.HydratedTemplateButton{
					urlButton("Tr\x1b[31mack\u0085it\x00", "https://parcel.example/t"),
					urlButton("Pay\u009b", "https://pay.example/\x07x"),
				},
			}}},
			want: text("Order\n- Tr[31mack it: https://parcel.example/t\n- Pay",
				`<p>Order</p><ul><li><a href="https://parcel.example/t">Tr[31mack it</a></li><li>Pay</li></ul>`),
		},
		{
			name: "a link in a text",
			msg:  &waE2E.Message{Conversation: proto.String("*see* https://a.example/x\x07y")},
			want: text("*see* https://a.example/x\x07y", `<strong>see</strong> <a href="https://a.example/x">https://a.example/x</a>`+"\x07y"),
		},
		{
			name: "an event's place",
			msg: &waE2E.Message{EventMessage: &waE2E.EventMessage{Name: proto.String("Walk"),
				Location: &waE2E.LocationMessage{DegreesLatitude: proto.Float64(52.5), DegreesLongitude: proto.Float64(13.4), Name: proto.String("Park\x1b]8;;\tGate\u009c")}}},
			want: text("Event: Walk\nLocation: Park]8;; Gate\nOpen WhatsApp to answer.",
				`<p>Event: <strong>Walk</strong></p><p>Location: <a href="geo:52.5,13.4">Park]8;; Gate</a></p><p>Open WhatsApp to answer.</p>`),
		},
	})
	deps := testDeps(nil)
	deps.Mention = func(types.JID) (string, id.UserID, bool) { return "Alice\x1b\tSmith\x00", aliceMX, true }
	got, err := ToMatrix(context.Background(), &waE2E.Message{ExtendedTextMessage: &waE2E.ExtendedTextMessage{
		Text: proto.String("hi @4915112345678"), ContextInfo: &waE2E.ContextInfo{MentionedJID: []string{aliceJID.String()}},
	}}, testInfo(), deps)
	if err != nil {
		t.Fatal(err)
	}
	if g := toComparable(got); !reflect.DeepEqual(g, mentioned) {
		t.Errorf("a mention: got %s\nwant %s", dump(g), dump(mentioned))
	}
}
