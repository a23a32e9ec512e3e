package bridge_test

import (
	"strings"
	"testing"
	"time"
)

// TestLogoutStoppingALoginFlowAnsweredOnce: alice starts a login to
// carol's account and, while the network checks her password, logs out
// of carol. The logout stops the flow and says so; the flow, ended by it,
// adds nothing: she reads one outcome, not also "Login cancelled.".
func TestLogoutStoppingALoginFlowAnsweredOnce(t *testing.T) {
	s := newScene(t, false)
	s.tn.SubmitWait = make(chan struct{}) // never released: the logout ends it
	s.h.Command(s.alice, s.mgmt, "login test carol", "password")
	s.alice.SendText(t, s.mgmt, "hunter2")
	time.Sleep(time.Second) // the password reaches the network
	before := seenIDs(s)
	s.h.Command(s.alice, s.mgmt, "logout test carol", "Stopped your Testnet login in progress")
	waitFlowEnded(t, s)
	time.Sleep(time.Second) // a late notice would have come by now
	said := botSaid(s, before)
	if len(said) != 1 {
		t.Errorf("after the logout the bot said %q; want only the logout's answer", said)
	}
	for _, body := range said {
		if strings.Contains(body, "Logged in") {
			t.Errorf("after the logout the bot said %q", body)
		}
	}
}
