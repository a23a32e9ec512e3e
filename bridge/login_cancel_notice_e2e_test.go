package bridge_test

import (
	"strings"
	"testing"

	"github.com/ferrybridge/ferry/internal/ferrytest"
)

// TestCancelOfAStartedLoginSaysCancelled: alice cancels her first login
// to carol's account once it is stored and started. It is undone, as
// before; the bot answered "Logged out of ... as you asked", which is
// not what she did.
func TestCancelOfAStartedLoginSaysCancelled(t *testing.T) {
	s := newScene(t, false)
	release := loginHeldAt(t, s, "started")
	before := ferrytest.Seen(s.alice, s.mgmt)
	cancelHeldFlow(t, s)
	release()
	body := s.h.WaitForBotNoticeExcept(s.alice, s.mgmt, "carol", before).Content.AsMessage().Body
	if !strings.Contains(body, "cancel") || strings.Contains(body, "Logged out") || strings.Contains(body, "as you asked") {
		t.Errorf("after the cancel the bot said %q; want it to say the login was cancelled", body)
	}
	assertCarolGone(t, s)
}
