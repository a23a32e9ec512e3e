package bridge_test

import (
	"testing"
	"time"

	"maunium.net/go/mautrix/event"

	"github.com/ferrybridge/ferry/bridge/network"
)

// TestEditHandedOverTwiceIsBridgedOnce: WhatsApp hands an event over
// again when its handler stopped waiting for it, while the first copy
// may still be queued in the portal. A message's second copy is
// recognised by its ID once the first is bridged; an edit's was bridged
// again, a second replacement event in the room. It is a no-op now, and
// its network hears that the edit is bridged.
func TestEditHandedOverTwiceIsBridgedOnce(t *testing.T) {
	s := newScene(t, false)
	room := s.openPortal(t, "before")
	ctx := s.h.Context(2 * time.Minute)
	sent := time.Now()
	edit := func() *network.Edit {
		return &network.Edit{
			Meta:   network.Meta{Portal: s.portal, Sender: network.Sender{User: "bob"}, Timestamp: sent},
			Target: "m0",
			Parts:  []network.Part{{Content: &event.MessageEventContent{MsgType: event.MsgText, Body: "before, edited"}}},
		}
	}
	// The portal is busy while both copies are handed over.
	handOverWhileBusy(t, s, edit(), edit())

	if err := s.cl.Handle(ctx, textMessage(s.portal, "marker", "bob", time.Now(), "marker")); err != nil {
		t.Fatal(err)
	}
	s.alice.WaitForEvent(t, room, waitLong, bodyIs(s.bob, "marker"))
	edits := 0
	for _, evt := range s.alice.Events(room) {
		if msg := evt.Content.AsMessage(); evt.Sender == s.bob && msg != nil && msg.NewContent != nil && msg.NewContent.Body == "before, edited" {
			edits++
		}
	}
	if edits != 1 {
		t.Errorf("the edit handed over twice is in the room %d times, want once", edits)
	}
}
