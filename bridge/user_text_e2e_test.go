package bridge_test

import (
	"strings"
	"testing"

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
	for _, tag := range []string{"<em>", "<strong>", "<a ", "<del>"} {
		if strings.Contains(msg.FormattedBody, tag) {
			t.Errorf("the network's message was taken for Markdown (%s): %q", tag, msg.FormattedBody)
		}
	}
	if !strings.Contains(msg.FormattedBody, "<code>reconnect test</code>") {
		t.Errorf("the network's intended code span is lost: %q", msg.FormattedBody)
	}
	if !strings.Contains(msg.Body, "the nick *b* [here](https://example.org) ~~c~~ is taken") {
		t.Errorf("the notice does not show the network's message as written: %q", msg.Body)
	}
}
