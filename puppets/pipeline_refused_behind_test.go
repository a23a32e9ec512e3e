package puppets

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"maunium.net/go/mautrix/event"
	"maunium.net/go/mautrix/id"
)

// TestRefusedSendBehindOneKeptForAnOutageIsKeptBehindIt: a ghost kicked
// behind Ferry's back has two pipelined sends refused. The first one's
// join again is taken by the homeserver, but answered only past that
// send's retry budget: the send is given up as unreachable and kept by
// its portal, to be sent again once it resumes, and the room's pipeline
// holds what comes after it. The second one's turn comes then. Retried
// through the ordinary client, it was taken at once, ahead of the first:
// the room's order turned round. It must be kept behind the first.
func TestRefusedSendBehindOneKeptForAnOutageIsKeptBehindIt(t *testing.T) {
	room := id.RoomID("!r:example.org")
	ghost := id.UserID("@ghost_bob:example.org")
	bothRefused := make(chan struct{})
	join := newHeldJoin()
	defer join.letGo()
	hs := &kickedGhostsHomeserver{
		room: room,
		onRefused: func(n int) {
			if n == 2 {
				close(bothRefused)
			}
		},
	}
	// The homeserver takes the join once both sends were refused, and
	// its answer is held past the first send's budget.
	hs.beforeJoin = join.takenAfter(hs, ghost, bothRefused)
	m, intent := startJoined(t, hs, ghost)
	pipe := roomPipeline(t, m, room)
	content := &event.MessageEventContent{MsgType: event.MsgText, Body: "hi"}

	aCtx := withRetryBudget(context.Background(), time.Now(), time.Second)
	waitA := m.SendMessageAhead(aCtx, pipe, intent, room, event.EventMessage, content, time.Time{}, "a")
	waitB := m.SendMessageAhead(context.Background(), pipe, intent, room, event.EventMessage, content, time.Time{}, "b")
	if _, err := waitA(); !errors.Is(err, ErrUnreachable) {
		t.Fatalf("a, whose join was cut at its budget, ended with %v; want it unreachable (the test missed its path)", err)
	}
	_, errB := waitB()
	join.letGo()
	if !errors.Is(errB, ErrUnreachable) {
		t.Errorf("b ended with %v; want it unreachable, kept behind a", errB)
	}
	hs.mu.Lock()
	accepted := slices.Clone(hs.accepted)
	hs.mu.Unlock()
	if slices.Contains(accepted, "b") {
		t.Errorf("the homeserver took %q, b ahead of a, kept for later", accepted)
	}
}
