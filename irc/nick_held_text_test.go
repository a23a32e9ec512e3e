package irc

import (
	"strings"
	"testing"

	"maunium.net/go/mautrix/format"
)

// TestNickHeldTextShowsNicksWhole: nicks may hold backticks and
// backslashes; the notice that a nick is another Ferry user's shows both
// nicks as typed, not cut into code spans or stripped of a backslash.
func TestNickHeldTextShowsNicksWhole(t *testing.T) {
	html := format.RenderMarkdown(nickHeldText("al`ce", `x\_y`, "libera"), true, false).FormattedBody
	for _, want := range []string{"<code>al`ce</code>", `<code>x\_y</code>`} {
		if !strings.Contains(html, want) {
			t.Errorf("the notice renders as %q; want %q in it", html, want)
		}
	}
}
