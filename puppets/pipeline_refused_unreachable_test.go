package puppets

import (
	"context"
	"errors"
	"net/http"
	"testing"
	"time"

	"maunium.net/go/mautrix/event"
	"maunium.net/go/mautrix/id"
)

// TestSendsHeldForARefusalStayBehindItWhenItsJoinIsUnreachable: a kicked
// ghost's pipelined send is refused, and its join again meets an outage
// (502 until RetryFor is over), so the send fails as unreachable and its
// portal keeps it to send again later. The bot's send, given once the
// refusal was read, waited for the retry; it must not then go to the
// homeserver ahead of the kept one, but be kept behind it (unreachable,
// as behind a send the pipeline gave up), and the pipeline held until
// the portal resumes it.
func TestSendsHeldForARefusalStayBehindItWhenItsJoinIsUnreachable(t *testing.T) {
	room := id.RoomID("!r:example.org")
	ghost := id.UserID("@ghost_bob:example.org")
	hs := &kickedGhostsHomeserver{room: room, joinStatus: http.StatusBadGateway}
	m := hs.start(t)
	m.RetryFor = time.Second
	storeJoined(t, m, room, m.BotMXID(), ghost)
	ctx := context.Background()
	pipe := roomPipeline(t, m, room)
	content := &event.MessageEventContent{MsgType: event.MsgText, Body: "hi"}
	waitA := m.SendMessageAhead(ctx, pipe, m.Intent(ghost), room, event.EventMessage, content, time.Time{}, "a")
	waitRefusalRead(t, pipe, "the ghost's send was never refused")
	waitB := m.SendMessageAhead(ctx, pipe, m.Bot(), room, event.EventMessage, content, time.Time{}, "b")
	if _, err := waitA(); !errors.Is(err, ErrUnreachable) {
		t.Fatalf("A: %v; want it unreachable (its join met the outage)", err)
	}
	if _, err := waitB(); !errors.Is(err, ErrUnreachable) {
		t.Errorf("B: %v; want it unreachable, kept behind A", err)
	}
	if !pipe.Held() {
		t.Error("the pipeline takes sends again before the portal resumed it")
	}
	hs.mu.Lock()
	defer hs.mu.Unlock()
	if len(hs.accepted) != 0 {
		t.Errorf("the homeserver took %q ahead of the kept send; want nothing", hs.accepted)
	}
}
