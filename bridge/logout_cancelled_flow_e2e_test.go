package bridge_test

import (
	"strings"
	"testing"
	"time"
)

// A `cancel` ends the login flow at once for the commands (a new login
// may start), but a flow the network has completed goes on undoing or
// telling its login. A logout of that login, right after the cancel,
// found no flow to mark: both answered, each its own way.

// cancelledHeldLogin starts alice's login to carol's account (the network
// linking a client), holds its flow at point and cancels it there; the
// flow runs on once release is called. before is what alice had seen in
// the management room before the cancel.
func cancelledHeldLogin(t *testing.T, point string) (s *scene, release func(), before map[string]bool) {
	t.Helper()
	s = newScene(t, false)
	release = loginHeldAt(t, s, point)
	before = seenIDs(s)
	cancelHeldFlow(t, s)
	return s, release, before
}

// TestLogoutAfterCancelOfAStartedLoginAnsweredOnce: alice cancels her
// login to carol's account once the flow has stored and started it, and
// logs out of carol. The logout answered "Logged out", and the flow then
// "Login cancelled: ... undone and not kept" about the same login. Now
// the logout marks the cancelled flow too, and is the one answer.
func TestLogoutAfterCancelOfAStartedLoginAnsweredOnce(t *testing.T) {
	s, release, before := cancelledHeldLogin(t, "started")
	s.h.Command(s.alice, s.mgmt, "logout test carol", "Logged out of Testnet (carol)")
	release()
	time.Sleep(2 * time.Second) // the flow undoes the login and would say so by now
	assertCarolGone(t, s)
	assertToldOfCarolOnce(t, s, before, "after the cancel and the logout")
}

// TestLogoutAfterCancelOfAKeptLoginSaidLast: the cancel comes once the
// flow has kept the login (too late to undo it), before it told her.
// The logout answered first, and the flow's "Logged in" came after it:
// what she read last was that carol's login is in. Now the logout waits
// for the flow to tell, and its answer is the last word.
func TestLogoutAfterCancelOfAKeptLoginSaidLast(t *testing.T) {
	s, release, before := cancelledHeldLogin(t, "kept")
	s.alice.SendText(t, s.mgmt, "logout test carol")
	time.Sleep(2 * time.Second) // the logout reaches the kept login
	release()
	s.h.WaitForBotNotice(s.alice, s.mgmt, "Logged out of Testnet (carol)")
	time.Sleep(time.Second) // a "Logged in" would have come by now
	assertCarolGone(t, s)
	said := botSaid(s, before)
	if !strings.Contains(lastLoginWord(said), "Logged out") {
		t.Errorf("after the cancel and the logout the bot said %q; the last word must be the logout", said)
	}
}
