package bridge_test

import (
	"testing"

	"github.com/ferrybridge/ferry/bridge/network"
	"github.com/ferrybridge/ferry/internal/ferrytest"
)

// TestStateMessageIsNotTakenForMarkdown: a login's state message (an IRC
// server's words at a disconnect, a K-line's reason) went into the
// "needs your attention" notice's Markdown as it was, while a network's
// other messages (userMarkdown) did not: stars made emphasis, brackets
// a link with a text of the server's choosing. Its intended code spans
// stay code.
func TestStateMessageIsNotTakenForMarkdown(t *testing.T) {
	s := newScene(t, false)
	const said = "banned: *b* [appeal here](https://example.org) ~~c~~; fix it with `irc password`"
	before := ferrytest.Seen(s.alice, s.mgmt)
	s.cl.State(network.State{Kind: network.StateBadCredentials, Message: said})
	msg := s.h.WaitForBotNoticeExcept(s.alice, s.mgmt, "needs your attention", before).Content.AsMessage()
	assertShownAsWritten(t, msg, "the state's message", "banned: *b* [appeal here](https://example.org) ~~c~~", "irc password")
}
