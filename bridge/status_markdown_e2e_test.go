package bridge_test

import (
	"strings"
	"testing"

	"github.com/ferrybridge/ferry/bridge/network"
)

// TestStatusShowsTheStateMessagesCodeSpans: `status` escaped the whole
// of a login's state text, so the code spans a network writes into it on
// purpose ("send `login whatsapp` to link again") showed as literal
// backticks, while the notices (stateMarkdown) showed them as code. A
// server's words in it are still not taken for Markdown.
func TestStatusShowsTheStateMessagesCodeSpans(t *testing.T) {
	s := newScene(t, false)
	s.cl.State(network.State{Kind: network.StateBadCredentials, Message: "banned: *b* [appeal here](https://example.org) ~~c~~; fix it with `irc password`"})
	s.h.WaitForBotNotice(s.alice, s.mgmt, "needs your attention")
	msg := s.h.Command(s.alice, s.mgmt, "status", "bad-credentials (banned").Content.AsMessage()
	if strings.Contains(msg.Body, "needs your attention") {
		t.Fatalf("took the notice for status's answer: %q", msg.Body)
	}
	if !strings.Contains(msg.FormattedBody, "<code>irc password</code>") {
		t.Errorf("the state's intended code span is not shown as code: body %q, HTML %q", msg.Body, msg.FormattedBody)
	}
	for _, tag := range []string{"<em>", "<a ", "<del>"} {
		if strings.Contains(msg.FormattedBody, tag) {
			t.Errorf("the state's message was taken for Markdown (%s): %q", tag, msg.FormattedBody)
		}
	}
	if !strings.Contains(msg.Body, "banned: *b* [appeal here](https://example.org) ~~c~~") {
		t.Errorf("status does not show the state's message as written: %q", msg.Body)
	}
}
