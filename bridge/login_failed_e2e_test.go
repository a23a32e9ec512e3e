package bridge_test

import (
	"sync"
	"testing"
	"time"

	"github.com/ferrybridge/ferry/bridge"
	"github.com/ferrybridge/ferry/bridge/network"
	"github.com/ferrybridge/ferry/internal/ferrytest"
	"github.com/ferrybridge/ferry/internal/testnet"
)

// TestLoginThatCannotStartIsNotStored: a login the network completed but
// that cannot be started is reported as failed, and its stored row goes:
// otherwise it would start at the next restart after the user was told
// it failed.
func TestLoginThatCannotStartIsNotStored(t *testing.T) {
	s := newScene(t, false)
	down := "the test network is down"
	s.tn.FailLoad.Store(&down)
	s.h.Command(s.alice, s.mgmt, "login test carol", "password")
	s.alice.SendText(t, s.mgmt, "hunter2")
	s.h.WaitForBotNotice(s.alice, s.mgmt, "Login failed: the test network is down")

	row, err := s.h.Bridge.DB.Logins.Get(s.h.Context(waitLong), testnet.ID, "carol")
	if err != nil {
		t.Fatal(err)
	}
	if row != nil {
		t.Fatalf("the failed login stays stored: %+v", row)
	}
	s.h.Command(s.alice, s.mgmt, "status", "alice: connected")
}

// TestLoginThatCannotBeStoredIsUnlinked: a network that linked a device
// during the login (WhatsApp) hands its client over with the completed
// login. If Ferry cannot store the login, the device is logged out again,
// so that it does not stay linked on the phone, unknown to Ferry.
func TestLoginThatCannotBeStoredIsUnlinked(t *testing.T) {
	s := newScene(t, false)
	s.tn.LinkAtLogin.Store(true)
	// A store that refuses the write, as a full disk or a lost database
	// connection would.
	if _, err := s.h.Bridge.DB.Exec(s.h.Context(waitLong), `CREATE TRIGGER refuse_login BEFORE INSERT ON login
		BEGIN SELECT RAISE(ABORT, 'the disk is full'); END`); err != nil {
		t.Fatal(err)
	}
	s.h.Command(s.alice, s.mgmt, "login test carol", "password")
	s.alice.SendText(t, s.mgmt, "hunter2")
	s.h.WaitForBotNotice(s.alice, s.mgmt, "Login failed")

	cl := s.tn.Client(network.LoginID("carol"))
	if cl == nil {
		t.Fatal("the network never linked carol's client")
	}
	if !cl.LoggedOut.Load() {
		t.Error("the client linked during a login that could not be stored was not logged out")
	}
	s.h.Command(s.alice, s.mgmt, "status", "alice: connected")
}

// TestLoginThatCannotBeRestoredIsReported: a stored login its network
// cannot load at a start is reported to its user, and stays stored for
// the next start.
func TestLoginThatCannotBeRestoredIsReported(t *testing.T) {
	s := newScene(t, false)
	s.h.StopBridge()
	startUnloadableThenLoadable(t, s)
	s.h.Command(s.alice, s.mgmt, "status", "alice: connected")
}

// startUnloadableThenLoadable starts the stopped Ferry with alice's login
// unloadable, waits for her to be told, and starts it again with the
// login loadable.
func startUnloadableThenLoadable(t *testing.T, s *scene) {
	t.Helper()
	down := "the test network's keys are unreadable"
	s.tn.FailLoad.Store(&down)
	before := ferrytest.Seen(s.alice, s.mgmt)
	s.h.StartBridge()
	s.h.WaitForBotNoticeExcept(s.alice, s.mgmt, "could not start your Testnet login (alice): the test network's keys are unreadable", before)
	s.h.StopBridge()
	s.tn.FailLoad.Store(nil)
	s.h.StartBridge()
}

// TestEventsOfALoginThatCannotBeRestoredWait: remote events stored for a
// login that its network cannot load at a start are not dropped with it:
// they wait in the store, and the start that loads the login bridges them.
func TestEventsOfALoginThatCannotBeRestoredWait(t *testing.T) {
	s := newScene(t, true)
	room := storedThroughAStop(t, s, "waiting", 3)
	startUnloadableThenLoadable(t, s)
	assertInOrder(t, s.alice, room, s.bob, "waiting", 3)
}

// TestLoginAgainRightAfterAFailedOne: a user who reads "Login failed" and
// at once starts another login is not refused as having one running. The
// ended flow stayed among the running ones until the codes it had shown
// were deleted, a round trip each; the flow is held here just after the
// user was told, so the new login comes in exactly that moment.
func TestLoginAgainRightAfterAFailedOne(t *testing.T) {
	s := newScene(t, false)
	told, release := make(chan struct{}), make(chan struct{})
	var once sync.Once
	bridge.HoldLoginFlows(t, func(point string) {
		if point == "told" {
			once.Do(func() {
				close(told)
				<-release
			})
		}
	})
	defer close(release)
	s.h.Command(s.alice, s.mgmt, "login test carol", "password")
	s.alice.SendText(t, s.mgmt, testnet.WrongPassword)
	s.h.WaitForBotNotice(s.alice, s.mgmt, "Login failed: wrong password")
	<-told
	s.h.Command(s.alice, s.mgmt, "login test carol", "password")
}

// TestLoginAgainRightAfterASuccessfulOne: as after a failed login, a
// user who reads "Logged in" and at once starts another login is not
// refused as having one running. The flow is held just after it told
// the user, before it ends.
func TestLoginAgainRightAfterASuccessfulOne(t *testing.T) {
	s := newScene(t, false)
	reached, release := holdFlowAt(t, "kept told")
	defer release()
	s.h.Command(s.alice, s.mgmt, "login test carol", "password")
	s.alice.SendText(t, s.mgmt, "hunter2")
	s.h.WaitForBotNotice(s.alice, s.mgmt, "Logged in to Testnet as carol")
	select {
	case <-reached:
	case <-time.After(waitLong):
		t.Fatal("the login flow never got past telling alice she is logged in")
	}
	s.h.Command(s.alice, s.mgmt, "login test dave", "password")
}
