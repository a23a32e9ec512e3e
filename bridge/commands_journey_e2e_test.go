package bridge_test

import (
	"testing"

	"github.com/ferrybridge/ferry/internal/ferrytest"
	"github.com/ferrybridge/ferry/internal/testnet"
)

// TestPrefixedCommandInManagementRoom: the README tells people to start
// commands with `!ferry` in other rooms; someone who types the prefix in
// their management room too (from habit, or pasting `!ferry relay on`)
// gets the command run, not "Unknown command `!ferry`".
func TestPrefixedCommandInManagementRoom(t *testing.T) {
	h := ferrytest.Start(t, ferrytest.Options{}, testnet.New())
	alice := h.User("alice")
	mgmt := h.ManagementRoom(alice)

	h.Command(alice, mgmt, "!ferry version", "Ferry ")
	h.Command(alice, mgmt, "!ferry", "Send `help` for the list of commands.")
	h.Command(alice, mgmt, "!FERRY status", "You have no logins")
	// The prefix is a word of its own: "!ferryx" is no command.
	h.Command(alice, mgmt, "!ferryx status", "Unknown command `!ferryx`")
}
