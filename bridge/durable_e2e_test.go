package bridge_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"maunium.net/go/mautrix/id"

	"github.com/ferrybridge/ferry/bridge/network"
	"github.com/ferrybridge/ferry/internal/testbed"
	"github.com/ferrybridge/ferry/portals"
)

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
	s := newScene(t, true)
	room := s.openPortal(t, "before")
	s.proxy.Down(testbed.OutageRefuse)
	for i := 0; i < 5; i++ {
		s.cl.Queue(textMessage(s.portal, network.MessageID(fmt.Sprintf("o%d", i)), "bob", time.Now(), fmt.Sprintf("outage %d", i)))
	}
	time.Sleep(time.Second)
	s.h.StopBridge()
	s.proxy.Up()
	s.h.StartBridge()
	assertInOrder(t, s.alice, room, s.bob, "outage", 5)
}

// TestQueueOverflowsToDatabase: far more events than a portal's in-memory
// queue holds arrive during an outage; none is lost or reordered.
func TestQueueOverflowsToDatabase(t *testing.T) {
	s := newScene(t, true)
	room := s.openPortal(t, "before")
	s.proxy.Down(testbed.OutageRefuse)
	n := portals.QueueSize + 50
	for i := 0; i < n; i++ {
		s.cl.Queue(textMessage(s.portal, network.MessageID(fmt.Sprintf("f%d", i)), "bob", time.Now(), fmt.Sprintf("flood %d", i)))
	}
	s.proxy.Up()
	assertInOrder(t, s.alice, room, s.bob, "flood", n)
}

// TestQueueBoundIsReported: past the per-portal bound, events are refused
// and the room hears how many once the portal has caught up.
func TestQueueBoundIsReported(t *testing.T) {
	old := portals.MaxPendingPerPortal
	portals.MaxPendingPerPortal = 3
	t.Cleanup(func() { portals.MaxPendingPerPortal = old })
	s := newScene(t, true)
	h, alice, bob := s.h, s.alice, s.bob
	room := s.openPortal(t, "before")
	s.proxy.Down(testbed.OutageRefuse)
	for i := 0; i < 6; i++ {
		s.cl.Queue(textMessage(s.portal, network.MessageID(fmt.Sprintf("b%d", i)), "bob", time.Now(), fmt.Sprintf("bounded %d", i)))
	}
	s.proxy.Up()
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

// TestIdlePortalsWakeUp: a portal whose goroutine ended after idling
// takes up work from either side again, in order.
func TestIdlePortalsWakeUp(t *testing.T) {
	old := portals.PortalIdleTimeout
	portals.PortalIdleTimeout = 20 * time.Millisecond
	t.Cleanup(func() { portals.PortalIdleTimeout = old })
	s := newScene(t, false)
	room := s.openPortal(t, "before")
	for round := 0; round < 3; round++ {
		time.Sleep(200 * time.Millisecond)
		s.alice.SendText(t, room, fmt.Sprintf("matrix %d", round))
		if got := expectOut[*network.OutgoingMessage](t, s.cl); got.Content.Body != fmt.Sprintf("matrix %d", round) {
			t.Fatalf("round %d: the network got %q", round, got.Content.Body)
		}
		time.Sleep(200 * time.Millisecond)
		for i := 0; i < 3; i++ {
			s.cl.Queue(textMessage(s.portal, network.MessageID(fmt.Sprintf("w%d-%d", round, i)), "bob", time.Now(), fmt.Sprintf("wake %d", round*3+i)))
		}
	}
	assertInOrder(t, s.alice, room, s.bob, "wake", 9)
}
