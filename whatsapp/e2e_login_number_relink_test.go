package whatsapp

import (
	"strings"
	"testing"
	"time"

	"maunium.net/go/mautrix/event"

	"github.com/ferrybridge/ferry/internal/ferrytest"
)

// TestSimLoginByNumberOfALinkedAccountSaysItReplacesTheLink: Alice has
// linked her phone; `login whatsapp +<her number>` answers with the code
// and, in the same notice, that the new link replaces the earlier one.
// She cancels, and the earlier link goes on.
func TestSimLoginByNumberOfALinkedAccountSaysItReplacesTheLink(t *testing.T) {
	s := newSimScene(t)
	var first string
	for attempt := 1; first == ""; attempt++ {
		// The QR login's flow ends a moment after it says "Logged in";
		// until then a new login is refused as one already running.
		before := ferrytest.Seen(s.alice, s.mgmt)
		s.alice.SendText(t, s.mgmt, "login whatsapp +49 151 00000001")
		body := s.alice.WaitForEvent(t, s.mgmt, simWait, func(evt *event.Event) bool {
			msg := evt.Content.AsMessage()
			return !before[evt.ID] && evt.Sender == s.h.BotMXID && msg != nil &&
				(strings.Contains(msg.Body, "Your code: **") || strings.Contains(msg.Body, "a login is already running"))
		}).Content.AsMessage().Body
		switch {
		case strings.Contains(body, "Your code: **"):
			first = body
		case attempt == 10:
			t.Fatalf("the first login's flow never ended: %q", body)
		default:
			time.Sleep(200 * time.Millisecond)
		}
	}
	if !strings.Contains(first, "+4915100000001 is linked to Ferry already: this link replaces the earlier one") {
		t.Errorf("the login's first answer %q does not say the earlier link will be replaced", first)
	}
	s.h.Command(s.alice, s.mgmt, "cancel", "Login cancelled.")
	s.h.Command(s.alice, s.mgmt, "status", "+4915100000001: connected")
}
