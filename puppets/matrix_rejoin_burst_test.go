package puppets

import (
	"context"
	"testing"
	"time"

	"maunium.net/go/mautrix/event"
	"maunium.net/go/mautrix/id"
)

// TestKickedGhostsPipelinedBurstAllArrive: a ghost kicked behind Ferry's
// back has two messages pipelined before the first one's refusal comes
// back, so both are refused as forbidden. The first one's wait joins the
// ghost again and sends it once more; the second was refused before that
// join, and must be sent once more too, not taken as refused for another
// reason because the ghost is joined by the time it is looked at. A
// stand-in homeserver, since the order of the refusals and the join
// cannot be had reliably from Dendrite.
func TestKickedGhostsPipelinedBurstAllArrive(t *testing.T) {
	room := id.RoomID("!r:example.org")
	ghost := id.UserID("@ghost_bob:example.org")
	bothRefused := make(chan struct{})
	hs := &kickedGhostsHomeserver{
		room: room,
		onRefused: func(n int) {
			if n == 2 {
				close(bothRefused)
			}
		},
		// The join comes once both sends were refused, as when the
		// second is pipelined before the first one's answer; or, when
		// the second was held behind the first one's refusal instead
		// (a loaded machine), after a while well within the send's
		// retry budget, which cuts a join that takes all of it.
		beforeJoin: func() {
			select {
			case <-bothRefused:
			case <-time.After(2 * time.Second):
			}
		},
	}
	m := hs.start(t)
	storeJoined(t, m, room, m.BotMXID(), ghost)
	ctx := context.Background()
	pipe := roomPipeline(t, m, room)
	intent := m.Intent(ghost)
	content := &event.MessageEventContent{MsgType: event.MsgText, Body: "hi"}
	waitA := m.SendMessageAhead(ctx, pipe, intent, room, event.EventMessage, content, time.Time{}, "a")
	waitB := m.SendMessageAhead(ctx, pipe, intent, room, event.EventMessage, content, time.Time{}, "b")
	if _, err := waitA(); err != nil {
		t.Errorf("A: %v", err)
	}
	if _, err := waitB(); err != nil {
		t.Errorf("B, refused before the ghost joined again: %v", err)
	}
	hs.mu.Lock()
	defer hs.mu.Unlock()
	if hs.joins != 1 {
		t.Errorf("the ghost joined %d times; want once", hs.joins)
	}
	if len(hs.accepted) != 2 {
		t.Errorf("the homeserver took %q; want a and b", hs.accepted)
	}
}
