package bridge_test

import (
	"testing"
	"time"

	"maunium.net/go/mautrix/event"

	"github.com/ferrybridge/ferry/internal/testbed"
)

// TestLostCreateRoomAnswerMakesOneRoom: the homeserver makes the portal's
// room but its answer is lost (a front proxy's 504). The retry finds
// that room rather than making a second one, so alice is invited once
// and the bot holds one room for the chat.
func TestLostCreateRoomAnswerMakesOneRoom(t *testing.T) {
	s := newScene(t, true)
	const create = "POST /_matrix/client/v3/createRoom"
	before := s.proxy.Count(create)
	s.proxy.Inject(create, 1, testbed.Fault{LoseAnswer: true})
	s.openPortal(t, "the first message")
	if s.proxy.Count(create) == before {
		t.Fatal("no room was created through the proxy")
	}
	s.checkOneRoomOfChat1(t)
}

// checkOneRoomOfChat1 checks that the bot holds one room of chat1 and
// that alice was invited to it and the login's space only.
func (s *scene) checkOneRoomOfChat1(t *testing.T) {
	t.Helper()
	ctx := s.h.Context(time.Minute)
	bot := s.h.Bridge.Matrix.Bot()
	joined, err := bot.JoinedRooms(ctx)
	if err != nil {
		t.Fatal(err)
	}
	rooms := 0
	for _, room := range joined.JoinedRooms {
		var info event.BridgeEventContent
		if bot.StateEvent(ctx, room, event.StateBridge, "ferry://test/chat1", &info) == nil {
			rooms++
		}
	}
	if rooms != 1 {
		t.Errorf("the bot is in %d rooms of the chat, want 1", rooms)
	}
	invites := 0
	for _, room := range s.alice.Invites() {
		if room != s.mgmt {
			invites++
		}
	}
	// The portal and the login's space.
	if invites != 2 {
		t.Errorf("alice was invited to %d rooms besides the management room, want 2 (the portal and the space)", invites)
	}
}
