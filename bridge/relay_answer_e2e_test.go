package bridge_test

import (
	"testing"

	"github.com/ferrybridge/ferry/internal/ferrytest"
	"github.com/ferrybridge/ferry/internal/testnet"
)

// TestRelayOutsideABridgedRoomSaysWhere: `relay on` sent in the
// management room was answered "relaying is set per bridged room: send
// this in the room", which reads as the room it was sent in. The answer
// says that this room is not bridged, and what to send where.
func TestRelayOutsideABridgedRoomSaysWhere(t *testing.T) {
	h := ferrytest.Start(t, ferrytest.Options{}, testnet.New())
	alice := h.User("alice")
	mgmt := h.ManagementRoom(alice)
	h.Command(alice, mgmt, "relay on", "this room is not bridged, and relaying is set per bridged room: send `!ferry relay on` in the bridged room")
	h.Command(alice, mgmt, "relay off", "send `!ferry relay off` in the bridged room")
}
