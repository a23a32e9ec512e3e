package bridge_test

import (
	"testing"
	"time"

	"maunium.net/go/mautrix/event"

	"github.com/ferrybridge/ferry/internal/testbed"
)

// TestEarlyCreateRoomTimeoutMakesOneRoom: a front proxy answers the
// portal's createRoom with 504 before its slow homeserver has even begun
// on it; the homeserver makes the room a second later. The retry's first
// look finds no room yet; it must look again rather than make a second
// room, so that alice is invited once and the bot holds one room.
func TestEarlyCreateRoomTimeoutMakesOneRoom(t *testing.T) {
	s := newScene(t, true)
	const create = "POST /_matrix/client/v3/createRoom"
	s.proxy.Inject(create, 1, testbed.Fault{AnswerFirst: true, Delay: time.Second})
	s.openPortal(t, "the first message")
	// Any second room would be made by now.
	time.Sleep(2 * time.Second)
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
