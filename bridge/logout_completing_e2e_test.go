package bridge_test

import (
	"strings"
	"testing"
	"time"

	"maunium.net/go/mautrix/event"
	"maunium.net/go/mautrix/id"

	"github.com/ferrybridge/ferry/bridge/network"
	"github.com/ferrybridge/ferry/internal/ferrytest"
	"github.com/ferrybridge/ferry/internal/testnet"
)

// completingLogin starts `login test <name>` for alice and answers it;
// the network holds the answer (a login it is completing) until the
// returned function is called, and then hands over a linked client.
func completingLogin(t *testing.T, s *scene, name string) (complete func()) {
	t.Helper()
	wait := make(chan struct{})
	s.tn.SubmitWait = wait
	s.tn.LinkAtLogin.Store(true)
	s.h.Command(s.alice, s.mgmt, "login test "+name, "password")
	s.alice.SendText(t, s.mgmt, "hunter2")
	time.Sleep(500 * time.Millisecond) // the answer reaches the network, which holds it
	return func() { close(wait) }
}

// flowEnd waits for the bot's notice that ends the login flow, after
// the events in before.
func flowEnd(t *testing.T, s *scene, before map[id.EventID]bool) string {
	t.Helper()
	evt := s.alice.WaitForEvent(t, s.mgmt, waitLong, func(evt *event.Event) bool {
		msg := evt.Content.AsMessage()
		return !before[evt.ID] && evt.Sender == s.h.BotMXID && msg != nil &&
			(strings.Contains(msg.Body, "Logged in to Testnet") || strings.Contains(msg.Body, "not kept") || strings.Contains(msg.Body, "Login"))
	})
	return evt.Content.AsMessage().Body
}

// assertLoggedOut checks that alice has no Testnet login left, stored or
// running, and that the client the network linked during the login was
// logged out.
func assertLoggedOut(t *testing.T, s *scene, name string, linkedBefore *testnet.Client) {
	t.Helper()
	row, err := s.h.Bridge.DB.Logins.Get(s.h.Context(waitLong), testnet.ID, network.LoginID(name))
	if err != nil {
		t.Fatal(err)
	}
	if row != nil {
		t.Errorf("the login stays stored after alice logged out: %+v", row)
	}
	s.h.Command(s.alice, s.mgmt, "status", "You have no logins")
	cl := s.tn.Client(network.LoginID(name))
	if cl == nil || cl == linkedBefore {
		t.Fatal("the network never linked a client for the completing login")
	}
	if !cl.LoggedOut.Load() {
		t.Error("the client linked by the completing login was not logged out")
	}
}

// TestLogoutWhileItsLoginCompletesWins: alice logs in again to her
// account, and logs out of it while the network completes the new login.
// The logout answered that she was logged out, and then the flow stored
// and started the new login all the same. The logout now wins: the
// login is not kept, and the client the network linked is logged out.
func TestLogoutWhileItsLoginCompletesWins(t *testing.T) {
	s := newScene(t, false)
	complete := completingLogin(t, s, "alice")
	s.h.Command(s.alice, s.mgmt, "logout test", "Logged out of Testnet (alice)")
	before := ferrytest.Seen(s.alice, s.mgmt)
	complete()
	if body := flowEnd(t, s, before); !strings.Contains(body, "not kept") {
		t.Errorf("the login flow ended with %q; want the login not kept", body)
	}
	assertLoggedOut(t, s, "alice", s.cl)
}

// TestLogoutOfALoginStillBeingMadeStopsIt: alice logs out of the test
// network while her first login to carol's account completes there. The
// logout said she had no such login, and the flow then kept it. Now the
// logout stops the flow, and what the network completes is not kept.
func TestLogoutOfALoginStillBeingMadeStopsIt(t *testing.T) {
	s := newScene(t, false)
	s.h.Command(s.alice, s.mgmt, "logout test", "Logged out of Testnet (alice)")
	complete := completingLogin(t, s, "carol")
	s.h.Command(s.alice, s.mgmt, "logout test", "Stopped your Testnet login in progress")
	complete()
	time.Sleep(time.Second) // a flow that kept the login would have by now (the network ends at the cancel)
	row, err := s.h.Bridge.DB.Logins.Get(s.h.Context(waitLong), testnet.ID, "carol")
	if err != nil {
		t.Fatal(err)
	}
	if row != nil {
		t.Errorf("the login stays stored after alice logged out: %+v", row)
	}
	s.h.Command(s.alice, s.mgmt, "status", "You have no logins")
}
