package bridge_test

import (
	"strings"
	"testing"

	"maunium.net/go/mautrix/event"

	"github.com/ferrybridge/ferry/bridge/network"
	"github.com/ferrybridge/ferry/internal/ferrytest"
	"github.com/ferrybridge/ferry/internal/testnet"
)

// The answers naming an account escape its name (TestLoginNameIsNotMarkdown),
// but the notices Ferry sends of its own about a login (it needs your
// attention, it is connected again, it could not be started) put the name
// into their Markdown as it was: a backtick in a nick began a code span.
func TestLoginNameInNoticesIsNotMarkdown(t *testing.T) {
	tn := testnet.New()
	h := ferrytest.Start(t, ferrytest.Options{}, tn)
	alice := h.User("alice")
	mgmt := h.ManagementRoom(alice)
	const name = markdownName
	literal := func(evt *event.Event) {
		t.Helper()
		msg := assertNameNotMarkdown(t, evt)
		if !strings.Contains(msg.Body, name) {
			t.Errorf("the notice does not name %q as typed: %q", name, msg.Body)
		}
	}
	cl := loginTest(t, h, tn, alice, mgmt, name)

	before := ferrytest.Seen(alice, mgmt)
	cl.State(network.State{Kind: network.StateStopped, Message: "another program took over the session"})
	literal(h.WaitForBotNoticeExcept(alice, mgmt, "needs your attention", before))
	before = ferrytest.Seen(alice, mgmt)
	cl.State(network.State{Kind: network.StateConnected})
	literal(h.WaitForBotNoticeExcept(alice, mgmt, "is connected again", before))

	h.StopBridge()
	down := "the test network's keys are unreadable"
	tn.FailLoad.Store(&down)
	before = ferrytest.Seen(alice, mgmt)
	h.StartBridge()
	// This notice spells the commands to retry or forget the login in
	// code spans of its own, the name within them as typed; the name it
	// says the login by is plain text.
	msg := h.WaitForBotNoticeExcept(alice, mgmt, "could not start your Testnet login", before).Content.AsMessage()
	if !strings.Contains(msg.FormattedBody, "Testnet login ("+name+")") || strings.Contains(msg.FormattedBody, "<em>") {
		t.Errorf("the name was taken for Markdown: %q", msg.FormattedBody)
	}
	if !strings.Contains(msg.FormattedBody, "<code>reconnect test "+name+"</code>") {
		t.Errorf("the command to retry the login does not name it as typed: %q", msg.FormattedBody)
	}
}
