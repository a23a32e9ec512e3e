package bridge_test

import (
	"strings"
	"sync"
	"testing"
	"time"

	"maunium.net/go/mautrix/event"

	"github.com/ferrybridge/ferry/bridge"
	"github.com/ferrybridge/ferry/internal/ferrytest"
	"github.com/ferrybridge/ferry/internal/testnet"
)

// holdFlowAt holds the first login flow to get to point (see
// bridge.HoldLoginFlows) until release is called; reached is closed then.
// Later flows pass.
func holdFlowAt(t *testing.T, point string) (reached <-chan struct{}, release func()) {
	t.Helper()
	hold, reached, release := firstHeld()
	bridge.HoldLoginFlows(t, func(p string) {
		if p == point {
			hold()
		}
	})
	return reached, release
}

// firstHeld returns hold, which holds its first caller until release is
// called (reached is closed then); later callers pass. release may be
// called more than once.
func firstHeld() (hold func(), reached <-chan struct{}, release func()) {
	at, free := make(chan struct{}), make(chan struct{})
	var first, freed sync.Once
	hold = func() {
		first.Do(func() {
			close(at)
			<-free
		})
	}
	return hold, at, func() { freed.Do(func() { close(free) }) }
}

// loginHeldAt starts alice's login to carol's account, with the network
// linking a client (as WhatsApp does), and returns once the flow is held
// at point.
func loginHeldAt(t *testing.T, s *scene, point string) (release func()) {
	t.Helper()
	s.tn.LinkAtLogin.Store(true)
	return loginToHeldAt(t, s, "carol", point)
}

// loginToHeldAt starts alice's login to account and returns once the flow
// is held at point. Whether the network links a client at the login is as
// s.tn.LinkAtLogin says.
func loginToHeldAt(t *testing.T, s *scene, account, point string) (release func()) {
	t.Helper()
	reached, release := holdFlowAt(t, point)
	s.h.Command(s.alice, s.mgmt, "login test "+account, "password")
	s.alice.SendText(t, s.mgmt, "hunter2")
	select {
	case <-reached:
	case <-time.After(waitLong):
		t.Fatalf("the login flow never got to %q", point)
	}
	return release
}

// waitFlowEnded waits until alice has no login flow running.
func waitFlowEnded(t *testing.T, s *scene) {
	t.Helper()
	deadline := time.Now().Add(waitLong)
	for s.h.Bridge.LoginFlowRunning(s.alice.UserID) {
		if time.Now().After(deadline) {
			t.Fatal("the login flow never ended")
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// botSaid lists the bodies of the bot's messages in the management room
// after the events in before.
func botSaid(s *scene, before map[string]bool) []string {
	var out []string
	for _, evt := range s.alice.Events(s.mgmt) {
		if msg := evt.Content.AsMessage(); !before[evt.ID.String()] && evt.Sender == s.h.BotMXID && evt.Type == event.EventMessage && msg != nil {
			out = append(out, msg.Body)
		}
	}
	return out
}

// assertCarolGone checks that alice's login to carol's account is neither
// stored nor running, and that the client the network linked for it was
// logged out; her own login runs on.
func assertCarolGone(t *testing.T, s *scene) {
	t.Helper()
	row, err := s.h.Bridge.DB.Logins.Get(s.h.Context(waitLong), testnet.ID, "carol")
	if err != nil {
		t.Fatal(err)
	}
	if row != nil {
		t.Errorf("the login stays stored after alice logged out: %+v", row)
	}
	if body := s.h.Command(s.alice, s.mgmt, "status", "alice: connected").Content.AsMessage().Body; strings.Contains(body, "carol") {
		t.Errorf("status after the logout: %q", body)
	}
	if cl := s.tn.Client("carol"); cl == nil || !cl.LoggedOut.Load() {
		t.Error("the client linked for carol was not logged out")
	}
}

// saidOfCarol splits the bot's messages in the management room after the
// events in before: those that name carol, and those that say "Logged in".
func saidOfCarol(s *scene, before map[string]bool) (aboutCarol, loggedIn []string) {
	for _, body := range botSaid(s, before) {
		if strings.Contains(body, "Logged in") {
			loggedIn = append(loggedIn, body)
		}
		if strings.Contains(body, "carol") {
			aboutCarol = append(aboutCarol, body)
		}
	}
	return aboutCarol, loggedIn
}

// assertToldOfCarolOnce fails t if, since before, the bot said "Logged in"
// or told alice of carol other than once; after says after what.
func assertToldOfCarolOnce(t *testing.T, s *scene, before map[string]bool, after string) {
	t.Helper()
	aboutCarol, loggedIn := saidOfCarol(s, before)
	for _, body := range loggedIn {
		t.Errorf("after the logout the bot said %q", body)
	}
	if len(aboutCarol) != 1 {
		t.Errorf("%s the bot told alice of carol %d times, want once: %q", after, len(aboutCarol), aboutCarol)
	}
}

// lastLoginWord is the last of said that says "Logged in" or "Logged
// out", or "" if none does.
func lastLoginWord(said []string) string {
	last := ""
	for _, body := range said {
		if strings.Contains(body, "Logged in") || strings.Contains(body, "Logged out") {
			last = body
		}
	}
	return last
}

func seenIDs(s *scene) map[string]bool {
	out := make(map[string]bool)
	for evt := range ferrytest.Seen(s.alice, s.mgmt) {
		out[evt.String()] = true
	}
	return out
}

// TestLogoutOfAStartedLoginNotYetKept: alice logs out of carol's account
// once the login flow has stored and started the login, before it kept
// it. The logout finds the login running and logs it out; the flow then
// must not keep it, and says nothing more: the logout's answer is the one
// outcome she reads about carol, not followed by the flow's own "not
// kept" for the same logout.
func TestLogoutOfAStartedLoginNotYetKept(t *testing.T) {
	s := newScene(t, false)
	release := loginHeldAt(t, s, "started")
	before := seenIDs(s)
	s.h.Command(s.alice, s.mgmt, "logout test carol", "Logged out of Testnet (carol)")
	release()
	waitFlowEnded(t, s)
	assertCarolGone(t, s)
	time.Sleep(time.Second) // a late notice would have come by now
	assertToldOfCarolOnce(t, s, before, "after the logout")
}

// TestLogoutOfAKeptLoginNotYetAnnounced: alice logs out of carol's
// account once the flow has kept the login, before it told her. The
// logout logs the login out; what she reads last must be that.
func TestLogoutOfAKeptLoginNotYetAnnounced(t *testing.T) {
	s := newScene(t, false)
	release := loginHeldAt(t, s, "kept")
	before := seenIDs(s)
	s.alice.SendText(t, s.mgmt, "logout test carol")
	time.Sleep(2 * time.Second) // the logout reaches the kept login
	release()
	s.h.WaitForBotNotice(s.alice, s.mgmt, "Logged out of Testnet (carol)")
	assertCarolGone(t, s)
	time.Sleep(time.Second) // a "Logged in" would have come by now
	said := botSaid(s, before)
	if !strings.Contains(lastLoginWord(said), "Logged out") {
		t.Errorf("after the logout the bot said %q; the last word must be the logout", said)
	}
}
