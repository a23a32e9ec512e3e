package bridge_test

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"maunium.net/go/mautrix/event"
	"maunium.net/go/mautrix/id"

	"github.com/ferrybridge/ferry/bridge/network"
	"github.com/ferrybridge/ferry/internal/testnet"
)

// editWithID is an edit of m0 by bob with the network's own edit ID, as
// WhatsApp gives them.
func editWithID(s *scene, editID network.MessageID, at time.Time, body string) *network.Edit {
	return &network.Edit{
		Meta:   network.Meta{Portal: s.portal, Sender: network.Sender{User: "bob"}, Timestamp: at},
		ID:     editID,
		Target: "m0",
		Parts:  []network.Part{{Content: &event.MessageEventContent{MsgType: event.MsgText, Body: body}}},
	}
}

// replacementsOf lists the new bodies of bob's edits in room, in order,
// once marker has arrived after them.
func replacementsOf(t *testing.T, s *scene, room id.RoomID, marker string) []string {
	t.Helper()
	if err := s.cl.Handle(s.h.Context(time.Minute), textMessage(s.portal, network.MessageID(marker), "bob", time.Now(), marker)); err != nil {
		t.Fatal(err)
	}
	s.alice.WaitForEvent(t, room, waitLong, bodyIs(s.bob, marker))
	var bodies []string
	for _, evt := range s.alice.Events(room) {
		if msg := evt.Content.AsMessage(); evt.Sender == s.bob && msg != nil && msg.NewContent != nil {
			bodies = append(bodies, msg.NewContent.Body)
		}
	}
	return bodies
}

// TestEditsBackToTheSameTextWithinASecondAreAllBridged: bob edits his
// message to "B" and back to "A" within one second. The second "A" is an
// edit of its own (the network gave it its own ID), not a copy of the
// first, and the message ends as "A", as bob left it.
func TestEditsBackToTheSameTextWithinASecondAreAllBridged(t *testing.T) {
	s := newScene(t, false)
	room := s.openPortal(t, "before")
	ctx := s.h.Context(2 * time.Minute)
	at := time.Now().Truncate(time.Second)
	for i, body := range []string{"A", "B", "A"} {
		if err := s.cl.Handle(ctx, editWithID(s, network.MessageID(fmt.Sprintf("e%d", i+1)), at, body)); err != nil {
			t.Fatal(err)
		}
	}
	if got, want := replacementsOf(t, s, room, "marker"), []string{"A", "B", "A"}; !slices.Equal(got, want) {
		t.Errorf("the room has bob's edits as %q, want %q", got, want)
	}
}

// TestEditHandedOverAgainAfterARestartIsBridgedOnce: an edit the network
// hands over again after Ferry restarted (so the portal no longer
// remembers it) adds no second replacement: the homeserver takes it as
// the same request.
func TestEditHandedOverAgainAfterARestartIsBridgedOnce(t *testing.T) {
	s := newScene(t, false)
	room := s.openPortal(t, "before")
	edit := editWithID(s, "e1", time.Now(), "before, edited")
	if err := s.cl.Handle(s.h.Context(time.Minute), edit); err != nil {
		t.Fatal(err)
	}
	s.alice.WaitForEvent(t, room, waitLong, func(evt *event.Event) bool {
		msg := evt.Content.AsMessage()
		return evt.Sender == s.bob && msg != nil && msg.NewContent != nil
	})

	s.h.StopBridge()
	s.h.StartBridge()
	s.cl = waitForTestClient(t, s, "alice")
	if err := s.cl.Handle(s.h.Context(time.Minute), editWithID(s, "e1", edit.Timestamp, "before, edited")); err != nil {
		t.Fatal(err)
	}
	if got, want := replacementsOf(t, s, room, "marker"), []string{"before, edited"}; !slices.Equal(got, want) {
		t.Errorf("the room has bob's edits as %q, want %q", got, want)
	}
}

// waitForTestClient waits for the testnet login name to be loaded again
// after a restart and returns its new client.
func waitForTestClient(t *testing.T, s *scene, name string) *testnet.Client {
	t.Helper()
	deadline := time.Now().Add(waitLong)
	for {
		if cl := s.tn.Client(network.LoginID(name)); cl != nil && cl != s.cl {
			return cl
		}
		if time.Now().After(deadline) {
			t.Fatalf("the login %s was not loaded again after the restart", name)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
