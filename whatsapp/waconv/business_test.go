package waconv

import (
	"context"
	"strings"
	"testing"

	"go.mau.fi/whatsmeow/proto/waE2E"
	"google.golang.org/protobuf/proto"
	"maunium.net/go/mautrix/event"

	"github.com/ferrybridge/ferry/bridge/network"
)

// TestToMatrixBusinessMessages: a business's message with buttons or a
// list (a template, an interactive message, a buttons message, a list)
// shows its text, formatted as a text message's, with its buttons listed:
// links and phone numbers that work from Matrix, a code to copy shown,
// and a hint where answering takes WhatsApp. It is not "Unsupported".
func TestToMatrixBusinessMessages(t *testing.T) {
	runToMatrix(t, []toMatrixCase{
		{
			name: "template with link, call and quick reply buttons, as a reply",
			msg: &waE2E.Message{TemplateMessage: &waE2E.TemplateMessage{
				HydratedTemplate: &waE2E.TemplateMessage_HydratedFourRowTemplate{
					Title:               &waE2E.TemplateMessage_HydratedFourRowTemplate_HydratedTitleText{HydratedTitleText: "Order #1234"},
					HydratedContentText: proto.String("Your parcel is *on its way* & arrives today."),
					HydratedFooterText:  proto.String("Parcel Co."),
					HydratedButtons: []*waE2E.HydratedTemplateButton{
						{HydratedButton: &waE2E.HydratedTemplateButton_UrlButton{UrlButton: &waE2E.HydratedTemplateButton_HydratedURLButton{
							DisplayText: proto.String("Track"), URL: proto.String("https://parcel.example/t?id=1&x=2")}}},
						{HydratedButton: &waE2E.HydratedTemplateButton_CallButton{CallButton: &waE2E.HydratedTemplateButton_HydratedCallButton{
							DisplayText: proto.String("Call us"), PhoneNumber: proto.String("+49 30 1234")}}},
						{HydratedButton: &waE2E.HydratedTemplateButton_UrlButton{UrlButton: &waE2E.HydratedTemplateButton_HydratedURLButton{
							DisplayText: proto.String("Odd"), URL: proto.String("javascript:alert(1)")}}},
						{HydratedButton: &waE2E.HydratedTemplateButton_QuickReplyButton{QuickReplyButton: &waE2E.HydratedTemplateButton_HydratedQuickReplyButton{
							DisplayText: proto.String("Stop updates"), ID: proto.String("stop")}}},
					},
				},
				ContextInfo: &waE2E.ContextInfo{StanzaID: proto.String("3EB0ASKED")},
			}},
			want: converted{ReplyTo: &network.MessageRef{ID: "3EB0ASKED"}, Parts: []part{{Content: &event.MessageEventContent{
				MsgType: event.MsgText,
				Body: "Order #1234\nYour parcel is *on its way* & arrives today.\nParcel Co.\n" +
					"- Track: https://parcel.example/t?id=1&x=2\n- Call us: +49 30 1234\n- Odd\n- Stop updates\nOpen WhatsApp to answer.",
				Format: event.FormatHTML,
				FormattedBody: "<p><strong>Order #1234</strong></p><div>Your parcel is <strong>on its way</strong> &amp; arrives today.</div>" +
					"<p><em>Parcel Co.</em></p><ul><li><a href=\"https://parcel.example/t?id=1&amp;x=2\">Track</a></li>" +
					"<li><a href=\"tel:+49301234\">Call us: +49 30 1234</a></li><li>Odd</li><li>Stop updates</li></ul><p>Open WhatsApp to answer.</p>",
				Mentions: noMentions,
			}}}},
		},
		{
			name: "interactive login code with a copy button and a photo header",
			msg: &waE2E.Message{InteractiveMessage: &waE2E.InteractiveMessage{
				Header: &waE2E.InteractiveMessage_Header{Title: proto.String("Bank"),
					Media: &waE2E.InteractiveMessage_Header_ImageMessage{ImageMessage: &waE2E.ImageMessage{}}},
				Body: &waE2E.InteractiveMessage_Body{Text: proto.String("492 817 is your login code.")},
				InteractiveMessage: &waE2E.InteractiveMessage_NativeFlowMessage_{NativeFlowMessage: &waE2E.InteractiveMessage_NativeFlowMessage{
					Buttons: []*waE2E.InteractiveMessage_NativeFlowMessage_NativeFlowButton{
						{Name: proto.String("cta_copy"), ButtonParamsJSON: proto.String(`{"display_text":"Copy code","copy_code":"492817"}`)},
						{Name: proto.String("cta_url"), ButtonParamsJSON: proto.String(`{"display_text":"Not you?","url":"https://bank.example/help"}`)},
						{Name: proto.String("cta_url"), ButtonParamsJSON: proto.String(`{"display_text":"Bad","url":"javascript:alert(1)"}`)},
						{Name: proto.String("cta_copy"), ButtonParamsJSON: proto.String(`not json`)},
					},
				}},
			}},
			want: converted{Parts: []part{{Content: &event.MessageEventContent{
				MsgType: event.MsgText,
				Body: "Bank\n492 817 is your login code.\n(with a photo: open WhatsApp to see it)\n" +
					"- Copy code: 492817\n- Not you?: https://bank.example/help\n- Bad",
				Format: event.FormatHTML,
				FormattedBody: "<p><strong>Bank</strong></p><p>492 817 is your login code.</p><p>(with a photo: open WhatsApp to see it)</p>" +
					"<ul><li>Copy code: <code>492817</code></li><li><a href=\"https://bank.example/help\">Not you?</a></li><li>Bad</li></ul>",
				Mentions: noMentions,
			}}}},
		},
		{
			name: "list",
			msg: &waE2E.Message{ListMessage: &waE2E.ListMessage{
				Title: proto.String("Book a table"), Description: proto.String("Pick a time"), ButtonText: proto.String("Times"),
				Sections: []*waE2E.ListMessage_Section{{Title: proto.String("Friday"), Rows: []*waE2E.ListMessage_Row{
					{Title: proto.String("19:00"), Description: proto.String("terrace")}, {Title: proto.String("21:00")}, {},
				}}},
			}},
			want: converted{Parts: []part{{Content: &event.MessageEventContent{
				MsgType: event.MsgText,
				Body:    "Book a table\nPick a time\nFriday:\n- 19:00: terrace\n- 21:00\nOpen WhatsApp to answer.",
				Format:  event.FormatHTML,
				FormattedBody: "<p><strong>Book a table</strong></p><p>Pick a time</p><p>Friday:</p><ul><li>19:00: terrace</li><li>21:00</li></ul>" +
					"<p>Open WhatsApp to answer.</p>",
				Mentions: noMentions,
			}}}},
		},
		{
			name: "buttons message",
			msg: &waE2E.Message{ButtonsMessage: &waE2E.ButtonsMessage{
				Header:      &waE2E.ButtonsMessage_Text{Text: "Survey"},
				ContentText: proto.String("Were you happy?"),
				Buttons: []*waE2E.ButtonsMessage_Button{
					{ButtonText: &waE2E.ButtonsMessage_Button_ButtonText{DisplayText: proto.String("Yes")}, Type: waE2E.ButtonsMessage_Button_RESPONSE.Enum()},
					{ButtonText: &waE2E.ButtonsMessage_Button_ButtonText{DisplayText: proto.String("No")}, Type: waE2E.ButtonsMessage_Button_RESPONSE.Enum()},
				},
			}},
			want: converted{Parts: []part{{Content: &event.MessageEventContent{
				MsgType:       event.MsgText,
				Body:          "Survey\nWere you happy?\n- Yes\n- No\nOpen WhatsApp to answer.",
				Format:        event.FormatHTML,
				FormattedBody: "<p><strong>Survey</strong></p><p>Were you happy?</p><ul><li>Yes</li><li>No</li></ul><p>Open WhatsApp to answer.</p>",
				Mentions:      noMentions,
			}}}},
		},
		{
			name: "an answer tapped on the phone",
			msg: &waE2E.Message{ButtonsResponseMessage: &waE2E.ButtonsResponseMessage{
				SelectedButtonID: proto.String("yes"),
				Response:         &waE2E.ButtonsResponseMessage_SelectedDisplayText{SelectedDisplayText: "Yes"},
				ContextInfo:      &waE2E.ContextInfo{StanzaID: proto.String("3EB0SURVEY")},
			}},
			want: converted{ReplyTo: &network.MessageRef{ID: "3EB0SURVEY"}, Parts: []part{{Content: &event.MessageEventContent{
				MsgType: event.MsgText, Body: "Yes", Mentions: noMentions,
			}}}},
		},
	})
}

// TestToMatrixBusinessMessageWithNothingToShow: a business message Ferry
// cannot read (a carousel of cards) stays the "unsupported" notice that
// sends the user to WhatsApp, and so does an empty answer.
func TestToMatrixBusinessMessageWithNothingToShow(t *testing.T) {
	for _, msg := range []*waE2E.Message{
		{InteractiveMessage: &waE2E.InteractiveMessage{InteractiveMessage: &waE2E.InteractiveMessage_CarouselMessage_{
			CarouselMessage: &waE2E.InteractiveMessage_CarouselMessage{}}}},
		{ListResponseMessage: &waE2E.ListResponseMessage{}},
	} {
		got, err := ToMatrix(context.Background(), msg, testInfo(), testDeps(nil))
		if err != nil {
			t.Fatal(err)
		}
		if got.Kind != KindMessage || len(got.Parts) != 1 || !strings.HasPrefix(got.Parts[0].Content.Body, "Unsupported WhatsApp message type ") {
			t.Errorf("%s: %s; want the unsupported notice", typeName(msg), dump(toComparable(got)))
		}
	}
}
