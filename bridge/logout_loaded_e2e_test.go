package bridge_test

import (
	"testing"
	"time"
)

// TestLogoutOfALoadedLoginNotYetConnected: alice logs in to carol's
// account on a network whose completed login the core loads and connects
// itself (as IRC's), and logs out of it once it is registered as running,
// before its client is connected. The logout finds it and logs it out;
// the connect that follows must not bring it back, and the flow must not
// keep it: in the end the login is neither stored nor running, its client
// is logged out, and alice read one outcome about carol, the logout's.
func TestLogoutOfALoadedLoginNotYetConnected(t *testing.T) {
	s := newScene(t, false)
	release := loginToHeldAt(t, s, "carol", "registered")
	if cl := s.tn.Client("carol"); cl == nil {
		t.Fatal("the core loaded no client for carol")
	}
	before := seenIDs(s)
	s.h.Command(s.alice, s.mgmt, "logout test carol", "Logged out of Testnet (carol)")
	release()
	waitFlowEnded(t, s)
	assertCarolGone(t, s)
	if _, running := s.h.Bridge.Client("test", "carol"); running {
		t.Error("carol's client is still listed as running")
	}
	time.Sleep(time.Second) // a late notice would have come by now
	assertToldOfCarolOnce(t, s, before, "after the logout")
	// Still usable: logging in to carol again works.
	s.h.Command(s.alice, s.mgmt, "login test carol", "password")
	s.alice.SendText(t, s.mgmt, "hunter2")
	s.h.WaitForBotNotice(s.alice, s.mgmt, "Logged in to Testnet as carol")
}
