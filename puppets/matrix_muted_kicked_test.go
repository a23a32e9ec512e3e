package puppets

import (
	"context"
	"testing"
	"time"

	"maunium.net/go/mautrix/event"
	"maunium.net/go/mautrix/id"
)

// TestMutedGhostKickedIsJoinedAgainAtOnce: a ghost found muted in a room
// is remembered so (matrix_muted.go), and its later refusals there are
// taken as the same without asking the homeserver, while the store's
// view stays. Kicked behind the store's back (and unmuted), it was joined
// again only once that memory was mutedFor old: every message until then
// was refused. The homeserver's refusal says which it is: a non-member's
// is not taken as muted, so the first send after the kick joins the
// ghost again and is bridged.
func TestMutedGhostKickedIsJoinedAgainAtOnce(t *testing.T) {
	room := id.RoomID("!r:example.org")
	ghost := id.UserID("@ghost_bob:example.org")
	// Muted in the room, a member as far as the homeserver knows too.
	hs := &kickedGhostsHomeserver{room: room, muted: true}
	m := hs.start(t)
	hs.joined[string(ghost)] = true
	now := time.Now()
	m.muted.now = func() time.Time { return now }
	storeJoined(t, m, room, m.BotMXID(), ghost)
	sendMuted(t, m, ghost, room, 2)
	if m.muted.size() != 1 {
		t.Fatal("the muted ghost was not remembered; the test missed its path")
	}

	// Kicked (and so unmuted) behind the store's back.
	hs.mu.Lock()
	delete(hs.joined, string(ghost))
	hs.mu.Unlock()
	now = now.Add(time.Minute) // well within mutedFor
	content := &event.MessageEventContent{MsgType: event.MsgText, Body: "hi"}
	if _, err := m.SendMessage(context.Background(), m.Intent(ghost), room, event.EventMessage, content, time.Time{}, "after-kick"); err != nil {
		t.Errorf("the kicked ghost's send ended with %v; want it joined again and bridged", err)
	}
	hs.mu.Lock()
	defer hs.mu.Unlock()
	if hs.joins != 1 || len(hs.accepted) != 1 {
		t.Errorf("the ghost was joined %d times and %d sends taken; want 1 and 1", hs.joins, len(hs.accepted))
	}
}
