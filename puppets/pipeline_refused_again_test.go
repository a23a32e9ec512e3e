package puppets

import (
	"context"
	"strings"
	"testing"
	"time"

	"maunium.net/go/mautrix/event"
	"maunium.net/go/mautrix/id"
)

// TestHeldSendsRefusedInTurnKeepTheirPlace: two ghosts kicked at once
// (an admin clearing the room, a state reset). The first one's send is
// refused; the second one's and then the bot's, given once that refusal
// was read, wait for its retry. When they go, the second ghost's is
// refused in its turn: the bot's must wait for that one's retry too, not
// have been written behind it and taken ahead of it.
func TestHeldSendsRefusedInTurnKeepTheirPlace(t *testing.T) {
	room := id.RoomID("!r:example.org")
	first := id.UserID("@ghost_alice:example.org")
	second := id.UserID("@ghost_bob:example.org")
	// The first ghost's join waits until the others are given.
	given := make(chan struct{})
	hs := &kickedGhostsHomeserver{
		room: room,
		beforeJoin: func() {
			select {
			case <-given:
			case <-time.After(5 * time.Second):
			}
		},
		// The second ghost's refusal is answered late enough for what
		// is written behind it to be there first.
		onRefused: func(n int) {
			if n == 2 {
				time.Sleep(50 * time.Millisecond)
			}
		},
	}
	m := hs.start(t)
	storeJoined(t, m, room, m.BotMXID(), first, second)
	ctx := context.Background()
	pipe := roomPipeline(t, m, room)
	content := &event.MessageEventContent{MsgType: event.MsgText, Body: "hi"}
	waitA := m.SendMessageAhead(ctx, pipe, m.Intent(first), room, event.EventMessage, content, time.Time{}, "a")
	waitRefusalRead(t, pipe, "the first ghost's send was never refused")
	waitB := m.SendMessageAhead(ctx, pipe, m.Intent(second), room, event.EventMessage, content, time.Time{}, "b")
	waitC := m.SendMessageAhead(ctx, pipe, m.Bot(), room, event.EventMessage, content, time.Time{}, "c")
	close(given)
	for name, wait := range map[string]func() (id.EventID, error){"a": waitA, "b": waitB, "c": waitC} {
		if _, err := wait(); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
	hs.mu.Lock()
	defer hs.mu.Unlock()
	if got := strings.Join(hs.accepted, ","); got != "a,b,c" {
		t.Errorf("the homeserver took %q; want a, b, c", hs.accepted)
	}
}
