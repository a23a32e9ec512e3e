package waconv

import (
	"testing"

	"go.mau.fi/whatsmeow/proto/waE2E"
	"google.golang.org/protobuf/proto"
	"maunium.net/go/mautrix/event"
)

// TestToMatrixBusinessCallButton: a call button's number becomes a tel:
// link of its digits (with a leading +), whatever the number is written
// with (blanks, dashes, brackets, dots). A "number" that is none (words,
// markup, another scheme) is shown as written but links nowhere: a tel:
// link of it would be dialled as garbage, or, in a client that reads it
// loosely, be more than a phone number.
func TestToMatrixBusinessCallButton(t *testing.T) {
	call := func(label, phone string) *waE2E.HydratedTemplateButton {
		return &waE2E.HydratedTemplateButton{HydratedButton: &waE2E.HydratedTemplateButton_CallButton{CallButton: &waE2E.HydratedTemplateButton_HydratedCallButton{
			DisplayText: proto.String(label), PhoneNumber: proto.String(phone)}}}
	}
	runToMatrix(t, []toMatrixCase{{
		name: "numbers and non-numbers",
		msg: &waE2E.Message{TemplateMessage: &waE2E.TemplateMessage{HydratedTemplate: &waE2E.TemplateMessage_HydratedFourRowTemplate{
			HydratedContentText: proto.String("Call us"),
			HydratedButtons: []*waE2E.HydratedTemplateButton{
				call("Office", "+1 (555) 010-99.88"),
				call("Script", "javascript:alert(1)"),
				call("Markup", `+1 "><img src=x>`),
				call("Letters", "0800 FLOWERS"),
			},
		}}},
		want: converted{Parts: []part{{Content: &event.MessageEventContent{
			MsgType: event.MsgText,
			Body: "Call us\n- Office: +1 (555) 010-99.88\n- Script: javascript:alert(1)\n" +
				"- Markup: +1 \"><img src=x>\n- Letters: 0800 FLOWERS",
			Format: event.FormatHTML,
			FormattedBody: `<p>Call us</p><ul><li><a href="tel:+15550109988">Office: +1 (555) 010-99.88</a></li>` +
				`<li>Script: javascript:alert(1)</li><li>Markup: +1 &#34;&gt;&lt;img src=x&gt;</li><li>Letters: 0800 FLOWERS</li></ul>`,
			Mentions: noMentions,
		}}}},
	}})
}
