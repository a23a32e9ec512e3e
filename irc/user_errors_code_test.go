package irc

import (
	"context"
	"strings"
	"testing"

	"maunium.net/go/mautrix/format"

	"github.com/ferrybridge/ferry/bridge/network"
)

// TestUserErrorsShowTypedNamesAsCode: a network name or nick the user
// typed comes back in the answer whole, as code. Nicks may hold
// backticks, and a plain `…` around one ended early, so the rest of it
// was read as Markdown (stars as emphasis) and the code span swallowed
// the answer's own words.
func TestUserErrorsShowTypedNamesAsCode(t *testing.T) {
	c := New()
	t.Cleanup(c.cancel)
	c.cfg = &Config{Networks: map[string]*NetworkConfig{"libera": {}}}

	_, loginErr := c.StartLogin(context.Background(), "@me:ex.org", []string{"li`be*ra*"})
	for _, tc := range []struct {
		name  string
		err   error
		typed string
	}{
		{"unknown network at login", loginErr, "li`be*ra*"},
		{"bad nick", validateNick("a`b*c*!", 0), "a`b*c*!"},
		{"unknown network in a command", func() error {
			_, err := c.clientFor(&network.CommandEvent{}, "`x`*y*")
			return err
		}(), "`x`*y*"},
	} {
		msg := network.UserMessage(tc.err, "")
		if msg == "" {
			t.Errorf("%s: no message for the user (%v)", tc.name, tc.err)
			continue
		}
		html := format.RenderMarkdown(msg, true, false).FormattedBody
		if want := "<code>" + strings.ToLower(tc.typed) + "</code>"; !strings.Contains(strings.ToLower(html), want) {
			t.Errorf("%s: %q renders as %q; want the typed name whole as code %q", tc.name, msg, html, want)
		}
		if strings.Contains(html, "<em>") {
			t.Errorf("%s: %q renders with emphasis: %q", tc.name, msg, html)
		}
	}
}
