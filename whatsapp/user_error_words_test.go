package whatsapp

import (
	"context"
	"errors"
	"strings"
	"testing"
	"unicode/utf8"

	"maunium.net/go/mautrix/event"
	"maunium.net/go/mautrix/format"

	"github.com/ferrybridge/ferry/bridge/network"
	"github.com/ferrybridge/ferry/whatsapp/waconv"
)

// TestUserErrorsShowOutsideWordsAsWritten: the core renders a UserError's
// message as Markdown. A Matrix client's message type, and the words of a
// dial or WhatsApp error, went into it as they were, so `_x_` showed as
// an italic x and a `*` could start emphasis across the sentence.
func TestUserErrorsShowOutsideWordsAsWritten(t *testing.T) {
	const words = "x`~~struck~~`_y_"
	_, msgtypeErr := waconv.FromMatrix(context.Background(), &event.MessageEventContent{MsgType: event.MessageType("m." + words), Body: "hi"}, nil, nil, waconv.OutDeps{})
	long := "a" + strings.Repeat("é", 100) + words // a cut at 200 bytes falls inside an é
	for name, err := range map[string]error{
		"message type":     msgtypeErr,
		"unreachable":      unreachable(errors.New("dial tcp: " + words)),
		"unreachable long": unreachable(errors.New(long)),
	} {
		msg := network.UserMessage(err, "")
		if msg == "" {
			t.Errorf("%s: %v is no UserError", name, err)
			continue
		}
		rendered := format.RenderMarkdown(msg, true, false)
		for _, mark := range []string{"<code>", "<del>", "<em>"} {
			if strings.Contains(rendered.FormattedBody, mark) {
				t.Errorf("%s: %q renders as %q: outside words were taken for Markdown (%s)", name, msg, rendered.FormattedBody, mark)
			}
		}
		shown := rendered.FormattedBody
		if shown == "" { // nothing but text: the body is what shows
			shown = rendered.Body
		}
		if !strings.Contains(shown, words) && name != "unreachable long" {
			t.Errorf("%s: %q shows as %q, without the words as written", name, msg, shown)
		}
		if !utf8.ValidString(msg) {
			t.Errorf("%s: the message is no valid UTF-8: %q", name, rendered.Body)
		}
	}
}
