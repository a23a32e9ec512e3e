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

// TestLoginArgumentsSayWhatIsWrong: `login irc` given too few, too many
// or wrong words answered its usage line alone, or a refusal without it;
// the answer now says what was wrong, then the usage.
func TestLoginArgumentsSayWhatIsWrong(t *testing.T) {
	c := New()
	t.Cleanup(c.cancel)
	c.cfg = &Config{Networks: map[string]*NetworkConfig{"libera": {}}}
	const usage = "; usage: `login irc <network> [nick]`"
	for _, tc := range []struct {
		args []string
		want string
	}{
		{nil, "name the IRC network to log in to (`libera`)" + usage},
		{[]string{"a", "b", "c"}, "`login irc` takes a network and at most one nick, and `c` is more" + usage},
		{[]string{"libera", "my", "nick"}, "and `nick` is more" + usage},
		{[]string{"oftc"}, "unknown IRC network `oftc`; networks: `libera`" + usage},
		{[]string{"libera", "1up"}, "`1up` is not a valid IRC nick"},
	} {
		_, err := c.StartLogin(context.Background(), "@me:ex.org", tc.args)
		got := network.UserMessage(err, "")
		if !strings.Contains(got, tc.want) || !strings.HasSuffix(got, usage) {
			t.Errorf("login irc %s: told %q, want %q ending with the usage", strings.Join(tc.args, " "), got, tc.want)
		}
	}
}
