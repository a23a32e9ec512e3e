package bridge

import (
	"strings"
	"testing"

	"maunium.net/go/mautrix/format"

	"github.com/ferrybridge/ferry/bridge/network"
)

// TestLiteralWordsInAStateShowAsWritten: a state message made of a
// server's words (network.Literal) and the network's own code span is
// shown by `status` and the notices (stateMarkdown) with the server's
// words as written, backticks and backslashes included, and the code
// span as code.
func TestLiteralWordsInAStateShowAsWritten(t *testing.T) {
	words := `Closing link: (a` + "`" + `b@h) [Killed (c` + "`" + `d \o/ \*e\*)]`
	st := network.State{Kind: network.StateBadCredentials, Message: network.Literal(words) + " (fix it with `irc password`)"}
	got := format.RenderMarkdown(stateMarkdown(st), true, false)
	want := "bad-credentials (" + words + " (fix it with <code>irc password</code>))"
	if strings.TrimSpace(got.FormattedBody) != want {
		t.Errorf("rendered as %q, want %q", got.FormattedBody, want)
	}
}
