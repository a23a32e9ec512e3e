package bridge_test

import (
	"strings"
	"testing"
	"time"

	"maunium.net/go/mautrix/id"

	"github.com/ferrybridge/ferry/bridge"
	"github.com/ferrybridge/ferry/bridge/network"
	"github.com/ferrybridge/ferry/internal/ferrytest"
	"github.com/ferrybridge/ferry/internal/testbed"
	"github.com/ferrybridge/ferry/internal/testnet"
)

// TestStoppedLoginIsReportedAtOnceAndReconnectStartsIt: a network that has
// stopped trying (the remote side sent it away) is not an outage that
// "Ferry keeps trying": the user hears of it at once, and `reconnect`
// closes and opens the login's connection again.
func TestStoppedLoginIsReportedAtOnceAndReconnectStartsIt(t *testing.T) {
	sc := newScene(t, false)
	h, alice, mgmt, cl := sc.h, sc.alice, sc.mgmt, sc.cl
	before := ferrytest.Seen(alice, mgmt)

	cl.State(network.State{Kind: network.StateStopped, Message: "another program took over the session"})
	h.WaitForBotNoticeExcept(alice, mgmt, "needs your attention: stopped (another program took over the session)", before)
	h.Command(alice, mgmt, "status", "alice: stopped (another program took over the session)")

	h.Command(alice, mgmt, "reconnect test alice", "Reconnecting Testnet (alice).")
	if n := cl.Disconnects.Load(); n != 1 {
		t.Errorf("reconnect disconnected the login %d times, want once", n)
	}
	// testnet's Connect reports the login connected, as a network whose
	// connection came back does.
	h.WaitForBotNoticeExcept(alice, mgmt, "Testnet (alice) is connected again.", before)

	h.Command(alice, mgmt, "reconnect test bob", "you have no Testnet login `bob`; name one: `reconnect test alice`")
	if n := cl.Disconnects.Load(); n != 1 {
		t.Errorf("a reconnect naming another account disconnected alice's login (%d disconnects)", n)
	}
}

// TestStoppedBridgeSaysNothingMore: a login's outage notice is due
// DownNoticeAfter after it began; if Ferry stops before then, the notice
// must not run on after Stop, on a closed database (it did, and logged
// after the test that stopped it had ended).
func TestStoppedBridgeSaysNothingMore(t *testing.T) {
	old := bridge.DownNoticeAfter
	bridge.DownNoticeAfter = time.Second
	t.Cleanup(func() { bridge.DownNoticeAfter = old })
	trace := &lockedBuffer{}
	tn := testnet.New()
	h := ferrytest.Start(t, ferrytest.Options{TraceLog: trace}, tn)
	alice := h.User("alice")
	mgmt := h.ManagementRoom(alice)
	cl := loginTest(t, h, tn, alice, mgmt, "alice")

	cl.State(network.State{Kind: network.StateTransientDisconnect, Message: "network unreachable"})
	h.StopBridge()
	atStop := trace.String()
	time.Sleep(2 * bridge.DownNoticeAfter)
	if after := strings.TrimPrefix(trace.String(), atStop); after != "" {
		t.Errorf("the stopped bridge went on working:\n%s", after)
	}
}

// TestLoginRunningAtStopIsToldCancelled: a login waiting for the user's
// answer when Ferry stops tells the user it was cancelled, rather than
// leaving them to answer a question nobody reads.
func TestLoginRunningAtStopIsToldCancelled(t *testing.T) {
	loginCancelledByStop(t)
}

// loginCancelledByStop starts a login that asks alice for a password in
// her management room, stops Ferry and waits for her to be told that the
// login was cancelled. Ferry is left stopped.
func loginCancelledByStop(t *testing.T) (h *ferrytest.Harness, alice *testbed.Client, mgmt id.RoomID) {
	t.Helper()
	h = ferrytest.Start(t, ferrytest.Options{}, testnet.New())
	alice = h.User("alice")
	mgmt = h.ManagementRoom(alice)
	h.Command(alice, mgmt, "login test carol", "password")
	before := ferrytest.Seen(alice, mgmt)
	h.StopBridge()
	h.WaitForBotNoticeExcept(alice, mgmt, "Ferry is stopping, so this login was cancelled", before)
	return h, alice, mgmt
}

// TestLoginCompletingAsFerryStopsIsNotStarted: login flows end before the
// networks stop. A login that a network completed while it was stopping
// was loaded and connected on the stopped network, a connection nobody
// would close.
func TestLoginCompletingAsFerryStopsIsNotStarted(t *testing.T) {
	tn := testnet.New()
	h := ferrytest.Start(t, ferrytest.Options{}, tn)
	alice := h.User("alice")
	mgmt := h.ManagementRoom(alice)
	wait := make(chan struct{})
	tn.SubmitWait = wait
	// The network completes the login as it stops, and takes a moment to
	// stop, as one closing its connections does.
	tn.OnStop = func() {
		close(wait)
		time.Sleep(time.Second)
	}
	h.Command(alice, mgmt, "login test carol", "password")
	alice.SendText(t, mgmt, "hunter2")
	time.Sleep(500 * time.Millisecond) // the answer reaches the network, which holds it
	h.StopBridge()
	if cl := tn.Client("carol"); cl != nil {
		t.Errorf("a login completed while Ferry stopped was started on the stopped network")
	}
}
