package bridge_test

import (
	"strings"
	"testing"

	"maunium.net/go/mautrix/event"

	"github.com/ferrybridge/ferry/internal/ferrytest"
	"github.com/ferrybridge/ferry/internal/testnet"
)

// markdownName is an account name that Markdown would take for code
// spans and emphasis.
const markdownName = "`a`*b*_c_"

// assertNameNotMarkdown fails t if evt's HTML took an account name for
// Markdown (a code span or emphasis), and returns evt's message.
func assertNameNotMarkdown(t *testing.T, evt *event.Event) *event.MessageEventContent {
	t.Helper()
	msg := evt.Content.AsMessage()
	if strings.Contains(msg.FormattedBody, "<code>") || strings.Contains(msg.FormattedBody, "<em>") {
		t.Errorf("the name was taken for Markdown: %q", msg.FormattedBody)
	}
	return msg
}

// An account's name is typed by the user at the login (an IRC nick may
// hold a backtick) or chosen on the network. The bot's answers naming it
// ("Logged in to ... as ...", "Logged out of ... (...)", "Reconnecting
// ...") put it into their Markdown as it was: a backtick began a code
// span, stars made emphasis. `status` and `list` escape such names; these
// answers now do too.
func TestLoginNameIsNotMarkdown(t *testing.T) {
	h := ferrytest.Start(t, ferrytest.Options{}, testnet.New())
	alice := h.User("alice")
	mgmt := h.ManagementRoom(alice)
	const name = markdownName
	literal := func(evt *event.Event) {
		t.Helper()
		msg := assertNameNotMarkdown(t, evt)
		if !strings.Contains(msg.Body, name) && !strings.Contains(msg.FormattedBody, name) {
			t.Errorf("the answer does not name %q as typed: %q / %q", name, msg.Body, msg.FormattedBody)
		}
	}
	h.Command(alice, mgmt, "login test "+name, "password")
	literal(h.Command(alice, mgmt, "hunter2", "Logged in to Testnet"))
	literal(h.Command(alice, mgmt, "reconnect", "Reconnecting"))
	literal(h.Command(alice, mgmt, "logout test", "Logged out of Testnet"))
}
