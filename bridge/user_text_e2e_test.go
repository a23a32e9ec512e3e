package bridge_test

import (
	"strings"
	"testing"

	"maunium.net/go/mautrix/event"

	"github.com/ferrybridge/ferry/internal/ferrytest"
)

// TestNetworkMessageIsNotTakenForMarkdown: a network's message for the
// user may carry someone's typing (a nick, a network name, a server's
// words); the bot put it into its Markdown as it was, so stars made
// emphasis, brackets a link, tildes a strikethrough. Its intended code
// spans stay code; nothing else in it formats.
func TestNetworkMessageIsNotTakenForMarkdown(t *testing.T) {
	s := newScene(t, false)
	s.h.StopBridge()
	down := "the nick *b* [here](https://example.org) ~~c~~ is taken; send `reconnect test` later"
	s.tn.FailLoad.Store(&down)
	before := ferrytest.Seen(s.alice, s.mgmt)
	s.h.StartBridge()
	msg := s.h.WaitForBotNoticeExcept(s.alice, s.mgmt, "could not start your Testnet login", before).Content.AsMessage()
	assertShownAsWritten(t, msg, "the network's message", "the nick *b* [here](https://example.org) ~~c~~ is taken", "reconnect test")
}

// assertShownAsWritten fails t if msg took what (a network's message
// with Markdown marks in it) for Markdown: its HTML must have no
// emphasis, link or strikethrough, its code span code must stay one, and
// its body must hold written as it is.
func assertShownAsWritten(t *testing.T, msg *event.MessageEventContent, what, written, code string) {
	t.Helper()
	for _, tag := range []string{"<em>", "<strong>", "<a ", "<del>"} {
		if strings.Contains(msg.FormattedBody, tag) {
			t.Errorf("%s was taken for Markdown (%s): %q", what, tag, msg.FormattedBody)
		}
	}
	if !strings.Contains(msg.FormattedBody, "<code>"+code+"</code>") {
		t.Errorf("%s's intended code span is lost: %q", what, msg.FormattedBody)
	}
	if !strings.Contains(msg.Body, written) {
		t.Errorf("the notice does not show %s as written: %q", what, msg.Body)
	}
}
