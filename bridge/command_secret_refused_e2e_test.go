package bridge_test

import (
	"strings"
	"testing"

	"maunium.net/go/mautrix/id"

	"github.com/ferrybridge/ferry/bridge/config"
	"github.com/ferrybridge/ferry/bridge/network"
	"github.com/ferrybridge/ferry/internal/ferrytest"
	"github.com/ferrybridge/ferry/internal/testbed"
	"github.com/ferrybridge/ferry/internal/testnet"
)

// TestSecretCommandWithoutPermissionIsDeleted: in a portal, a command
// with a secret from someone whose permission does not reach it (carol,
// relayed) is refused for that, and deleted as a secret command from
// someone allowed to run it is: the room must not keep the password.
func TestSecretCommandWithoutPermissionIsDeleted(t *testing.T) {
	tn := testnet.New()
	moderatedChannel(tn)
	// Relaying lets carol, without a login, sit in the room.
	relayOn := func(h *ferrytest.Harness, alice *testbed.Client, room id.RoomID) {
		h.Command(alice, room, "!ferry relay on", "Relaying is on")
	}
	cl := secretRefusedScene(t, tn, "carol", config.LevelRelay, "!ferry test secret hunter2", "needs `user` permission", relayOn)
	// Nor was the command bridged.
	for {
		select {
		case out := <-cl.Outbox:
			if msg, ok := out.(*network.OutgoingMessage); ok && msg.Content != nil && strings.Contains(msg.Content.Body, "hunter2") {
				t.Errorf("the network got %q", msg.Content.Body)
			}
			continue
		default:
		}
		break
	}
}

// TestMistypedSecretCommandWithoutPermissionIsRefusedForIt: a relayed
// user's typo of a command with a password (`!ferry test secrte`) was
// deleted as the command spelt right is, but answered "send `test
// secret` in your management room", where it is refused for the same
// permission. It is answered as the command spelt right is.
func TestMistypedSecretCommandWithoutPermissionIsRefusedForIt(t *testing.T) {
	tn := testnet.New()
	moderatedChannel(tn)
	relayOn := func(h *ferrytest.Harness, alice *testbed.Client, room id.RoomID) {
		h.Command(alice, room, "!ferry relay on", "Relaying is on")
	}
	secretRefusedScene(t, tn, "carol", config.LevelRelay, "!ferry test secrte hunter2", "needs `user` permission", relayOn)
}
