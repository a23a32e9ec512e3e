package bridge_test

import (
	"testing"
	"time"

	"maunium.net/go/mautrix/event"

	"github.com/ferrybridge/ferry/bridge/network"
	"github.com/ferrybridge/ferry/internal/testbed"
)

// TestEditWaitedForDuringAStallFollowsItsMessage: an edit a network
// waits for (HandleEvent, as WhatsApp hands over edits) went into the
// portal's in-memory queue while its message was still being sent. When
// the homeserver could not take the message, the message was kept in
// the store for later, and the edit, still in memory, went first: it
// found no target, was ignored, and its network heard that it was
// bridged. It now waits in the store behind the message.
func TestEditWaitedForDuringAStallFollowsItsMessage(t *testing.T) {
	withResumeAfterOutage(t, 300*time.Millisecond)
	s := newScene(t, true)
	room := openIdlePortal(t, s)
	s.h.Bridge.Matrix.RetryFor = time.Second
	s.proxy.Down(testbed.Outage502)
	s.cl.Queue(textMessage(s.portal, "e0", "bob", time.Now(), "edit me"))
	done := make(chan error, 1)
	go func() {
		done <- s.cl.Handle(s.h.Context(2*time.Minute), &network.Edit{
			Meta:   network.Meta{Portal: s.portal, Sender: network.Sender{User: "bob"}, Timestamp: time.Now()},
			Target: "e0",
			Parts:  []network.Part{{Content: &event.MessageEventContent{MsgType: event.MsgText, Body: "edited"}}},
		})
	}()
	// Long past RetryFor: the message has been given up and kept.
	time.Sleep(3 * time.Second)
	s.proxy.Up()
	if err := <-done; err != nil {
		t.Fatalf("the network heard %v of the edit", err)
	}
	s.alice.WaitForEvent(t, room, waitLong, bodyIs(s.bob, "edit me"))
	if err := s.cl.Handle(s.h.Context(time.Minute), textMessage(s.portal, "marker", "bob", time.Now(), "marker")); err != nil {
		t.Fatal(err)
	}
	s.alice.WaitForEvent(t, room, waitLong, bodyIs(s.bob, "marker"))
	for _, evt := range s.alice.Events(room) {
		if msg := evt.Content.AsMessage(); evt.Sender == s.bob && msg != nil && msg.NewContent != nil && msg.NewContent.Body == "edited" {
			return
		}
	}
	t.Error("the edit, acknowledged to its network, never reached the room")
}
