package irc

import (
	"strings"
	"testing"

	"maunium.net/go/mautrix/event"

	"github.com/ferrybridge/ferry/internal/testbed"
)

// TestE2ERefusalShowsTheNickAsWritten (slow): a PM to the nick _x_, who
// is not on InspIRCd, is refused (401, labeled). The room is told so
// with the nick as it is written: the network's message is Markdown
// with the nick escaped (network.UserError), and the notice showed the
// escapes (`\_x\_`) in its plain body; rendered without them, the nick
// read as an emphasised "x".
func TestE2ERefusalShowsTheNickAsWritten(t *testing.T) {
	e := startEnv(t, testbed.InspIRCdOptions{})
	alice, mgmt, _ := e.loggedInAlice()
	e.h.Command(alice, mgmt, "irc pm test _x_", "Opening a private chat with")
	dm := portalInvite(t, alice, mgmt)
	alice.Join(t, dm.String())
	alice.SendText(t, dm, "hi")
	notice := alice.WaitForEvent(t, dm, waitLong, func(evt *event.Event) bool {
		msg := evt.Content.AsMessage()
		return evt.Type == event.EventMessage && msg != nil && msg.MsgType == event.MsgNotice && strings.Contains(msg.Body, "was not bridged")
	}).Content.AsMessage()
	if want := "⚠️ Your message was not bridged to IRC: test refused the message to _x_, saying \""; !strings.HasPrefix(notice.Body, want) {
		t.Errorf("the room was told %q, want it to start %q", notice.Body, want)
	}
	if notice.Format != event.FormatHTML || !strings.Contains(notice.FormattedBody, "to _x_, saying") || strings.Contains(notice.FormattedBody, "<em>") {
		t.Errorf("the notice's formatted body is %q (format %q), want _x_ as written", notice.FormattedBody, notice.Format)
	}
}
