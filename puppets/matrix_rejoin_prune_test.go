package puppets

import (
	"context"
	"fmt"
	"testing"
	"time"

	"maunium.net/go/mautrix/appservice"
	"maunium.net/go/mautrix/event"
	"maunium.net/go/mautrix/id"
)

// TestRejoinsForgottenOnceSettled: every ghost joined again after a
// refused send left an entry in Matrix.rejoins, for good; a bridge that
// meets ghosts without end (a busy IRC channel's comings and goings, with
// kicks behind its back) grew it without bound. Once its join again has
// settled and no send holds a mark of it, an entry is dropped: after
// kicked ghosts' sends through the ordinary client and pipelined ones,
// each joined again and sent once more, none is left. A stand-in
// homeserver, as in TestKickedGhostsPipelinedBurstAllArrive.
func TestRejoinsForgottenOnceSettled(t *testing.T) {
	room := id.RoomID("!r:example.org")
	hs := &kickedGhostsHomeserver{room: room}
	const ghosts = 8
	var users []id.UserID
	for i := range 2 * ghosts {
		users = append(users, id.UserID(fmt.Sprintf("@ghost_%d:example.org", i)))
	}
	m := hs.start(t)
	storeJoined(t, m, room, users...)
	ctx := context.Background()
	var intents []*appservice.IntentAPI
	for _, user := range users {
		intents = append(intents, m.Intent(user))
	}
	content := &event.MessageEventContent{MsgType: event.MsgText, Body: "hi"}
	// Through the ordinary client.
	for i, intent := range intents[:ghosts] {
		if _, err := m.SendMessage(ctx, intent, room, event.EventMessage, content, time.Time{}, fmt.Sprintf("o%d", i)); err != nil {
			t.Errorf("ghost %d's send: %v", i, err)
		}
	}
	// Pipelined, two messages of each ghost refused together.
	pipe := roomPipeline(t, m, room)
	var waits []func() (id.EventID, error)
	for i, intent := range intents[ghosts:] {
		for j := range 2 {
			waits = append(waits, m.SendMessageAhead(ctx, pipe, intent, room, event.EventMessage, content, time.Time{}, fmt.Sprintf("p%d.%d", i, j)))
		}
	}
	for i, wait := range waits {
		if _, err := wait(); err != nil {
			t.Errorf("pipelined send %d: %v", i, err)
		}
	}
	hs.mu.Lock()
	if want := 3 * ghosts; len(hs.accepted) != want {
		t.Errorf("the homeserver took %d messages; want %d", len(hs.accepted), want)
	}
	hs.mu.Unlock()
	if n := m.rejoinEntries(); n != 0 {
		t.Errorf("%d ghosts' rejoin entries are left after every send settled; want none", n)
	}
}
