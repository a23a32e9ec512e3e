package waconv

import (
	"testing"

	"go.mau.fi/whatsmeow/proto/waE2E"
	"google.golang.org/protobuf/proto"
	"maunium.net/go/mautrix/event"
)

// TestToMatrixBusinessMessageLines: a business message's title, footer,
// section titles and list entries may hold several lines ("Reply STOP to
// stop\nTerms: ..."). The HTML keeps them as lines, as the plain text
// does, rather than running them into one. A button is one line of the
// plain text's "- " list, so a line break in its label or code becomes a
// space there and in the HTML, and a link with a line break in it is no
// link.
func TestToMatrixBusinessMessageLines(t *testing.T) {
	runToMatrix(t, []toMatrixCase{{
		name: "lines in every field",
		msg: &waE2E.Message{InteractiveMessage: &waE2E.InteractiveMessage{
			Header: &waE2E.InteractiveMessage_Header{Title: proto.String("Parcel Co.\nOrder 12")},
			Body:   &waE2E.InteractiveMessage_Body{Text: proto.String("On its way")},
			Footer: &waE2E.InteractiveMessage_Footer{Text: proto.String("Reply STOP to stop\nTerms apply")},
			InteractiveMessage: &waE2E.InteractiveMessage_NativeFlowMessage_{NativeFlowMessage: &waE2E.InteractiveMessage_NativeFlowMessage{
				Buttons: []*waE2E.InteractiveMessage_NativeFlowMessage_NativeFlowButton{
					{Name: proto.String("cta_url"), ButtonParamsJSON: proto.String(`{"display_text":"Track\nit","url":"https://parcel.example/t"}`)},
					{Name: proto.String("cta_url"), ButtonParamsJSON: proto.String(`{"display_text":"Split","url":"https://parcel.example/\nx"}`)},
					{Name: proto.String("cta_copy"), ButtonParamsJSON: proto.String(`{"display_text":"Code","copy_code":"12\r\n34"}`)},
				},
			}},
		}},
		want: converted{Parts: []part{{Content: &event.MessageEventContent{
			MsgType: event.MsgText,
			Body: "Parcel Co.\nOrder 12\nOn its way\nReply STOP to stop\nTerms apply\n" +
				"- Track it: https://parcel.example/t\n- Split\n- Code: 12 34",
			Format: event.FormatHTML,
			FormattedBody: "<p><strong>Parcel Co.<br>Order 12</strong></p><p>On its way</p><p><em>Reply STOP to stop<br>Terms apply</em></p>" +
				`<ul><li><a href="https://parcel.example/t">Track it</a></li><li>Split</li><li>Code: <code>12 34</code></li></ul>`,
			Mentions: noMentions,
		}}}},
	}, {
		name: "lines in a list",
		msg: &waE2E.Message{ListMessage: &waE2E.ListMessage{
			Title: proto.String("Book"),
			Sections: []*waE2E.ListMessage_Section{{Title: proto.String("Friday\nevening"), Rows: []*waE2E.ListMessage_Row{
				{Title: proto.String("19:00"), Description: proto.String("terrace\nno dogs")},
			}}},
		}},
		want: converted{Parts: []part{{Content: &event.MessageEventContent{
			MsgType: event.MsgText,
			Body:    "Book\nFriday evening:\n- 19:00: terrace no dogs\nOpen WhatsApp to answer.",
			Format:  event.FormatHTML,
			FormattedBody: "<p><strong>Book</strong></p><p>Friday evening:</p><ul><li>19:00: terrace no dogs</li></ul>" +
				"<p>Open WhatsApp to answer.</p>",
			Mentions: noMentions,
		}}}},
	}})
}
