package bridge_test

import (
	"context"
	"strings"
	"sync"
	"testing"

	"github.com/ferrybridge/ferry/bridge/network"
	"github.com/ferrybridge/ferry/internal/ferrytest"
	"github.com/ferrybridge/ferry/internal/testnet"
)

// unreadableKeys ends with its own full stop, as many networks' words
// do: the answers must not add a second.
const unreadableKeys = "the test network's keys are unreadable; try again later."

// startUnloadable restarts the scene's Ferry with the test network
// failing every load, and waits for alice to be told of her login (and
// of carol's, when she has it too).
func startUnloadable(t *testing.T, s *scene, names ...string) {
	t.Helper()
	s.h.StopBridge()
	down := unreadableKeys
	s.tn.FailLoad.Store(&down)
	before := ferrytest.Seen(s.alice, s.mgmt)
	s.h.StartBridge()
	for _, name := range append([]string{"alice"}, names...) {
		s.h.WaitForBotNoticeExcept(s.alice, s.mgmt, "could not start your Testnet login ("+name+")", before)
	}
}

// unstartedSceneOn is the scene with conn, a network wrapping tn, in
// place of the bare test network, alice's login left unstarted.
func unstartedSceneOn(t *testing.T, conn network.Connector, tn *testnet.Connector) *scene {
	t.Helper()
	s := &scene{tn: tn}
	s.h = ferrytest.Start(t, ferrytest.Options{}, conn)
	s.alice = s.h.User("alice")
	s.mgmt = s.h.ManagementRoom(s.alice)
	s.cl = loginTest(t, s.h, s.tn, s.alice, s.mgmt, "alice")
	startUnloadable(t, s)
	return s
}

// TestUnstartedLoginIsShownInStatus: a stored login Ferry could not
// start is listed in `status` with why, and how to retry or forget it;
// the notice at start names both commands too.
func TestUnstartedLoginIsShownInStatus(t *testing.T) {
	s := newScene(t, false)
	startUnloadable(t, s)
	s.h.WaitForBotNotice(s.alice, s.mgmt, unreadableKeys+" It stays stored; the administrator can see why in the bridge log. Send `reconnect test alice` to try again, or `logout test alice` to forget it")
	s.h.Command(s.alice, s.mgmt, "status",
		"Testnet** alice: could not be started: "+unreadableKeys+" `logout test alice` forgets it, `reconnect test alice` tries again.")
}

// TestLogoutForgetsAnUnstartedLogin: `logout` finds the logins Ferry
// could not start, asks which one when there are several, and forgets
// the one named: its stored row goes, and it is no longer listed.
func TestLogoutForgetsAnUnstartedLogin(t *testing.T) {
	s := newScene(t, false)
	loginTest(t, s.h, s.tn, s.alice, s.mgmt, "carol")
	startUnloadable(t, s, "carol")
	s.h.Command(s.alice, s.mgmt, "logout test", "you have several Testnet logins; name one: `logout test alice` or `logout test carol`")
	s.h.Command(s.alice, s.mgmt, "logout test carol", "Forgot your Testnet (carol) login: it never started, so Ferry could not log it out on Testnet's side.")
	row, err := s.h.Bridge.DB.Logins.Get(s.h.Context(waitLong), testnet.ID, "carol")
	if err != nil {
		t.Fatal(err)
	}
	if row != nil {
		t.Fatalf("the forgotten login stays stored: %+v", row)
	}
	if body := s.h.Command(s.alice, s.mgmt, "status", "alice: could not be started").Content.AsMessage().Body; strings.Contains(body, "carol") {
		t.Errorf("status after carol's logout lists her: %q", body)
	}
	s.h.Command(s.alice, s.mgmt, "logout test alice", "Forgot your Testnet (alice) login")
	s.h.Command(s.alice, s.mgmt, "status", "You have no logins")
}

// TestReconnectRetriesAnUnstartedLogin: `reconnect` loads a login Ferry
// could not start again: while its network still fails, the answer says
// why; once it loads, the login runs.
func TestReconnectRetriesAnUnstartedLogin(t *testing.T) {
	s := newScene(t, false)
	startUnloadable(t, s)
	s.h.Command(s.alice, s.mgmt, "reconnect", "Testnet (alice) still could not be started: "+unreadableKeys)
	s.tn.FailLoad.Store(nil)
	s.h.Command(s.alice, s.mgmt, "reconnect test alice", "Started Testnet (alice)")
	s.h.Command(s.alice, s.mgmt, "status", "alice: connected")
	if body := s.h.Command(s.alice, s.mgmt, "status", "alice: connected").Content.AsMessage().Body; strings.Contains(body, "could not be started") {
		t.Errorf("status after the login started still lists it as unstarted: %q", body)
	}
}

// TestNewLinkReplacesAnUnstartedLogin: a login of the same account that
// starts (the user logged in again) takes the unstarted one's place:
// `status` lists it once, running.
func TestNewLinkReplacesAnUnstartedLogin(t *testing.T) {
	s := newScene(t, false)
	startUnloadable(t, s)
	s.tn.FailLoad.Store(nil)
	loginTest(t, s.h, s.tn, s.alice, s.mgmt, "alice")
	if body := s.h.Command(s.alice, s.mgmt, "status", "alice: connected").Content.AsMessage().Body; strings.Contains(body, "could not be started") {
		t.Errorf("status after a new login of the account still lists the unstarted one: %q", body)
	}
}

// forgettingNet is the test network with network.LoginForgetter: it
// records the logins the core asks it to forget.
type forgettingNet struct {
	*testnet.Connector
	lock      sync.Mutex
	forgotten []network.LoginID
}

func (f *forgettingNet) ForgetLogin(ctx context.Context, login *network.Login) (string, error) {
	f.lock.Lock()
	defer f.lock.Unlock()
	f.forgotten = append(f.forgotten, login.ID)
	return "Unlink Ferry in the test network's settings.", nil
}

// TestLogoutOfAnUnstartedLoginAsksTheNetworkToForgetIt: the core has no
// client to log out, so it asks a network.LoginForgetter to drop the
// login, and passes its word on what stays linked on its side.
func TestLogoutOfAnUnstartedLoginAsksTheNetworkToForgetIt(t *testing.T) {
	f := &forgettingNet{Connector: testnet.New()}
	s := unstartedSceneOn(t, f, f.Connector)
	s.h.Command(s.alice, s.mgmt, "logout test alice", "Testnet's side. Unlink Ferry in the test network's settings.")
	f.lock.Lock()
	defer f.lock.Unlock()
	if len(f.forgotten) != 1 || f.forgotten[0] != "alice" {
		t.Errorf("the network was asked to forget %v; want [alice]", f.forgotten)
	}
}
