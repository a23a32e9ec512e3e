package bridge_test

import (
	"testing"
	"time"

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
	s.checkOneRoomOfChat1(t)
}
