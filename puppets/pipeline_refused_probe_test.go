package puppets

import (
	"context"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"maunium.net/go/mautrix/event"
	"maunium.net/go/mautrix/id"
)

// TestSendsWaitingBehindARefusedProbeWaitForItsRetry: the connection is
// lost with a kicked ghost's send and the bot's after it unanswered, so
// both are sent again, the ghost's first, alone (the probe), and the
// bot's waits to be written until its answer. That answer is a refusal:
// the bot's send, not written yet, must wait for the ghost's join again
// and retry like one given after the refusal, not be written at once
// and taken ahead of the retry.
func TestSendsWaitingBehindARefusedProbeWaitForItsRetry(t *testing.T) {
	room := id.RoomID("!r:example.org")
	ghost := id.UserID("@ghost_bob:example.org")
	var dropped atomic.Bool
	hs := &kickedGhostsHomeserver{
		room: room,
		drop: func(r *http.Request) bool {
			if r.Method != http.MethodPut || !strings.HasSuffix(r.URL.Path, "/a") || dropped.Swap(true) {
				return false
			}
			time.Sleep(100 * time.Millisecond) // for the bot's send to be written behind it
			return true
		},
		// The bot's send, if let go, is taken before the join is.
		beforeJoin: func() { time.Sleep(200 * time.Millisecond) },
	}
	m := hs.start(t)
	storeJoined(t, m, room, m.BotMXID(), ghost)
	ctx := context.Background()
	pipe := roomPipeline(t, m, room)
	content := &event.MessageEventContent{MsgType: event.MsgText, Body: "hi"}
	waitA := m.SendMessageAhead(ctx, pipe, m.Intent(ghost), room, event.EventMessage, content, time.Time{}, "a")
	waitB := m.SendMessageAhead(ctx, pipe, m.Bot(), room, event.EventMessage, content, time.Time{}, "b")
	if _, err := waitA(); err != nil {
		t.Errorf("A: %v", err)
	}
	if _, err := waitB(); err != nil {
		t.Errorf("B: %v", err)
	}
	hs.mu.Lock()
	defer hs.mu.Unlock()
	if !dropped.Load() {
		t.Fatal("the connection was never dropped")
	}
	if strings.Join(hs.accepted, ",") != "a,b" {
		t.Errorf("the homeserver took %q; want a, then b", hs.accepted)
	}
}
