package bridge_test

import (
	"strings"
	"testing"
	"time"

	"github.com/ferrybridge/ferry/internal/testnet"
)

// TestLogoutAsALoginFlowFailsAnsweredOnce: alice's login to carol's
// account fails (a wrong password) and, as the flow is about to say so,
// she logs out of carol. One of the two tells her how the login ended:
// the flow, whose end came first ("Login failed: wrong password."); the
// logout found it ended and did not answer "Stopped your Testnet login in
// progress" besides.
func TestLogoutAsALoginFlowFailsAnsweredOnce(t *testing.T) {
	s := newScene(t, false)
	reached, release := holdFlowAt(t, "ending")
	s.h.Command(s.alice, s.mgmt, "login test carol", "password")
	s.alice.SendText(t, s.mgmt, testnet.WrongPassword)
	select {
	case <-reached:
	case <-time.After(waitLong):
		t.Fatal("the login flow never failed")
	}
	before := seenIDs(s)
	s.alice.SendText(t, s.mgmt, "logout test carol")
	// The room's commands run in turn: the logout has run once this is
	// answered.
	s.h.Command(s.alice, s.mgmt, "version", "Ferry ")
	release()
	waitFlowEnded(t, s)
	s.h.WaitForBotNotice(s.alice, s.mgmt, "Login failed: wrong password")
	time.Sleep(time.Second) // a late notice would have come by now
	var aboutLogin []string
	for _, body := range botSaid(s, before) {
		if !strings.HasPrefix(body, "Ferry ") {
			aboutLogin = append(aboutLogin, body)
		}
	}
	if len(aboutLogin) != 1 {
		t.Errorf("the failing login and the logout were answered with %q; want one answer", aboutLogin)
	}
}
