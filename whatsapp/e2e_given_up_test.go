package whatsapp

import (
	"net/http"
	"testing"
	"time"

	"go.mau.fi/whatsmeow/proto/waE2E"
	"google.golang.org/protobuf/proto"
	"maunium.net/go/mautrix/event"
	"maunium.net/go/mautrix/id"

	"github.com/ferrybridge/ferry/internal/ferrytest"
	"github.com/ferrybridge/ferry/internal/testbed"
)

// givenUpSetup is Ferry over a stored login behind a fault proxy, with
// Bob able to send to it.
func givenUpSetup(t *testing.T) (*storedLogin, *testbed.FaultProxy, *sender) {
	t.Helper()
	saved := handleTimeout
	t.Cleanup(func() { handleTimeout = saved })
	handleTimeout = 3 * time.Second
	var proxy *testbed.FaultProxy
	s := startStoredLogin(t, New(), ferrytest.Options{HomeserverVia: func(t testing.TB, dendriteURL string) string {
		proxy = testbed.NewFaultProxy(t, dendriteURL)
		return proxy.URL()
	}})
	return s, proxy, newSender(t, bobPN, s.device)
}

// deliverUntilGivenUp hands stanza M1 to the login maxAttempts times, as
// WhatsApp redelivers a message left unacknowledged, and checks that each
// delivery failed and the last was given up (acknowledged).
func deliverUntilGivenUp(t *testing.T, cl *Client, bob *sender, ts time.Time) {
	t.Helper()
	lost := bob.stanza(t, "M1", ts, &waE2E.Message{Conversation: proto.String("lost")})
	key := bobPN.String() + "/M1"
	for attempt := 1; attempt <= maxAttempts; attempt++ {
		receive(cl.cli, lost)
		cl.lock.Lock()
		failures, failing := cl.failures[key]
		cl.lock.Unlock()
		if attempt < maxAttempts && failures != attempt {
			t.Fatalf("delivery %d: %d failures counted, want %d", attempt, failures, attempt)
		}
		if attempt == maxAttempts && failing {
			t.Fatalf("after %d failed deliveries the message was not given up", attempt)
		}
	}
}

// countBodies counts sender's messages with body in room.
func countBodies(alice *testbed.Client, room id.RoomID, sender id.UserID, body string) int {
	n := 0
	for _, evt := range alice.Events(room) {
		if msg := evt.Content.AsMessage(); evt.Sender == sender && evt.Type == event.EventMessage && msg != nil && msg.Body == body {
			n++
		}
	}
	return n
}

// TestE2EMessageGivenUpIsShownInTheRoom: the first message of a chat
// fails at each of its deliveries (the homeserver refuses to make the
// room), so the core has no room to report the failure in, and the
// connector acknowledges the message at the last. WhatsApp will not send
// it again: the chat's room, once it can be made, must show a notice in
// the message's place rather than nothing at all.
func TestE2EMessageGivenUpIsShownInTheRoom(t *testing.T) {
	s, proxy, bob := givenUpSetup(t)
	proxy.FailNext("POST /_matrix/client/v3/createRoom", maxAttempts, http.StatusForbidden)
	ts := time.Now().Add(-time.Minute).Truncate(time.Second)
	deliverUntilGivenUp(t, s.cl, bob, ts)

	room := joinPortal(t, s.alice, s.mgmt)
	ghost := ghostOf(bobPN.User)
	notice := s.alice.WaitForEvent(t, room, 30*time.Second, saysText(ghost, givenUpText))
	if msg := notice.Content.AsMessage(); msg.MsgType != event.MsgNotice {
		t.Errorf("the stand-in of the given-up message is a %s, want a notice", msg.MsgType)
	}
	receive(s.cl.cli, bob.stanza(t, "M2", ts.Add(time.Second), &waE2E.Message{Conversation: proto.String("after")}))
	s.alice.WaitForEvent(t, room, 30*time.Second, saysText(ghost, "after"))
	if n := countBodies(s.alice, room, ghost, givenUpText); n != 1 {
		t.Errorf("%d notices of the given-up message in the room, want 1", n)
	}
}

// TestE2EMessageGivenUpButKeptGetsNoNotice: a message whose deliveries
// all time out while the homeserver is unreachable stays queued in the
// core, which bridges it once the homeserver is back. The stand-in
// queued when it was given up must then not show: the message is there.
func TestE2EMessageGivenUpButKeptGetsNoNotice(t *testing.T) {
	s, proxy, bob := givenUpSetup(t)
	ts := time.Now().Add(-time.Minute).Truncate(time.Second)
	receive(s.cl.cli, bob.stanza(t, "M0", ts, &waE2E.Message{Conversation: proto.String("before")}))
	room := joinPortal(t, s.alice, s.mgmt)
	ghost := ghostOf(bobPN.User)
	waitBridged(t, s.h, s.alice.WaitForEvent(t, room, 30*time.Second, saysText(ghost, "before")))

	proxy.Down(testbed.OutageRefuse)
	deliverUntilGivenUp(t, s.cl, bob, ts.Add(time.Second))
	proxy.Up()
	s.alice.WaitForEvent(t, room, 60*time.Second, saysText(ghost, "lost"))
	receive(s.cl.cli, bob.stanza(t, "M2", ts.Add(2*time.Second), &waE2E.Message{Conversation: proto.String("after")}))
	s.alice.WaitForEvent(t, room, 30*time.Second, saysText(ghost, "after"))
	if n := countBodies(s.alice, room, ghost, givenUpText); n != 0 {
		t.Errorf("%d notices of a given-up message that was bridged after all, want none", n)
	}
	if n := countBodies(s.alice, room, ghost, "lost"); n != 1 {
		t.Errorf("the message kept in the core shows %d times, want once", n)
	}
}
