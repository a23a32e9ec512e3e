package bridge_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"maunium.net/go/mautrix/id"

	"github.com/ferrybridge/ferry/bridge/network"
	"github.com/ferrybridge/ferry/internal/ferrytest"
	"github.com/ferrybridge/ferry/internal/testbed"
	"github.com/ferrybridge/ferry/internal/testnet"
	"github.com/ferrybridge/ferry/portals"
)

// outageHarness starts Ferry behind a fault proxy, logs alice in and opens
// a portal with one message.
func outageHarness(t *testing.T) (*ferrytest.Harness, *testbed.FaultProxy, *testbed.Client, *testnet.Client, id.RoomID, network.PortalKey, id.UserID) {
	t.Helper()
	tn := testnet.New()
	var proxy *testbed.FaultProxy
	h := ferrytest.Start(t, ferrytest.Options{HomeserverVia: func(t testing.TB, url string) string {
		proxy = testbed.NewFaultProxy(t, url)
		return proxy.URL()
	}}, tn)
	alice := h.User("alice")
	mgmt := h.ManagementRoom(alice)
	cl := loginTest(t, h, tn, alice, mgmt, "alice")
	portal := network.PortalKey{Network: testnet.ID, Chat: "chat1", Receiver: "alice"}
	bob := h.Bridge.Ghosts.MXID(network.GhostKey{Network: testnet.ID, User: "bob"})
	if err := cl.Handle(h.Context(time.Minute), textMessage(portal, "m0", "bob", time.Now(), "before")); err != nil {
		t.Fatal(err)
	}
	room := portalInvite(t, alice, mgmt)
	alice.Join(t, room.String())
	alice.WaitForEvent(t, room, waitLong, bodyIs(bob, "before"))
	return h, proxy, alice, cl, room, portal, bob
}

// assertInOrder checks that the messages with prefix arrived 0..n-1, each
// once, in order.
func assertInOrder(t *testing.T, alice *testbed.Client, room id.RoomID, bob id.UserID, prefix string, n int) {
	t.Helper()
	alice.WaitForEvent(t, room, 2*time.Minute, bodyIs(bob, fmt.Sprintf("%s %d", prefix, n-1)))
	next := 0
	for _, evt := range alice.Events(room) {
		if msg := evt.Content.AsMessage(); evt.Sender == bob && msg != nil && strings.HasPrefix(msg.Body, prefix+" ") {
			if want := fmt.Sprintf("%s %d", prefix, next); msg.Body != want {
				t.Fatalf("got %q, want %q", msg.Body, want)
			}
			next++
		}
	}
	if next != n {
		t.Errorf("%d of %d %q messages arrived", next, n, prefix)
	}
}

// TestQueueSurvivesRestartDuringOutage: remote events that arrive while
// the homeserver is down wait in the database, survive a restart of
// Ferry, and arrive in order once the homeserver is back.
func TestQueueSurvivesRestartDuringOutage(t *testing.T) {
	h, proxy, alice, cl, room, portal, bob := outageHarness(t)
	proxy.Down(testbed.OutageRefuse)
	for i := 0; i < 5; i++ {
		cl.Queue(textMessage(portal, network.MessageID(fmt.Sprintf("o%d", i)), "bob", time.Now(), fmt.Sprintf("outage %d", i)))
	}
	time.Sleep(time.Second)
	h.StopBridge()
	proxy.Up()
	h.StartBridge()
	assertInOrder(t, alice, room, bob, "outage", 5)
}

// TestQueueOverflowsToDatabase: far more events than a portal's in-memory
// queue holds arrive during an outage; none is lost or reordered.
func TestQueueOverflowsToDatabase(t *testing.T) {
	_, proxy, alice, cl, room, portal, bob := outageHarness(t)
	proxy.Down(testbed.OutageRefuse)
	n := portals.QueueSize + 50
	for i := 0; i < n; i++ {
		cl.Queue(textMessage(portal, network.MessageID(fmt.Sprintf("f%d", i)), "bob", time.Now(), fmt.Sprintf("flood %d", i)))
	}
	proxy.Up()
	assertInOrder(t, alice, room, bob, "flood", n)
}

// TestQueueBoundIsReported: past the per-portal bound, events are refused
// and the room hears how many once the portal has caught up.
func TestQueueBoundIsReported(t *testing.T) {
	old := portals.MaxPendingPerPortal
	portals.MaxPendingPerPortal = 3
	t.Cleanup(func() { portals.MaxPendingPerPortal = old })
	h, proxy, alice, cl, room, portal, bob := outageHarness(t)
	proxy.Down(testbed.OutageRefuse)
	for i := 0; i < 6; i++ {
		cl.Queue(textMessage(portal, network.MessageID(fmt.Sprintf("b%d", i)), "bob", time.Now(), fmt.Sprintf("bounded %d", i)))
	}
	proxy.Up()
	h.WaitForBotNotice(alice, room, "could not be bridged")
	got := 0
	for _, evt := range alice.Events(room) {
		if msg := evt.Content.AsMessage(); evt.Sender == bob && msg != nil && strings.HasPrefix(msg.Body, "bounded ") {
			got++
		}
		if msg := evt.Content.AsMessage(); evt.Sender == h.BotMXID && msg != nil && strings.Contains(msg.Body, "could not be bridged") && !strings.HasPrefix(msg.Body, "⚠️ 3 messages") {
			t.Errorf("drop notice %q, want 3 messages", msg.Body)
		}
	}
	if got != 3 {
		t.Errorf("%d messages arrived; the bound is 3", got)
	}
}
