package bridge_test

import (
	"testing"
	"time"
)

// TestLogoutAfterTwoCancelsAnsweredOnce: alice cancels her login to
// carol's account once the flow has stored and started it (the flow runs
// on to undo it), starts another login and cancels that one too, then
// logs out of carol. The second cancel took the place of the first
// flow among the cancelled ones still running (one per user), so the
// logout found only the second, ended, flow: the first went on to undo
// carol with its own "Login cancelled: ... undone" besides the logout's
// "Logged out of Testnet (carol)".
func TestLogoutAfterTwoCancelsAnsweredOnce(t *testing.T) {
	s, release, before := cancelledHeldLogin(t, "started")
	s.h.Command(s.alice, s.mgmt, "login test dave", "password")
	s.h.Command(s.alice, s.mgmt, "cancel", "Login cancelled.")
	s.h.Command(s.alice, s.mgmt, "logout test carol", "Logged out of Testnet (carol)")
	release()
	time.Sleep(2 * time.Second) // the first flow undoes carol and would say so by now
	assertCarolGone(t, s)
	aboutCarol, _ := saidOfCarol(s, before)
	if len(aboutCarol) != 1 {
		t.Errorf("after the cancels and the logout the bot told alice of carol %d times, want once: %q", len(aboutCarol), aboutCarol)
	}
}
