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

// TestLogoutAndReconnectSayWhatToType: `logout` and `reconnect` naming
// a network Ferry does not bridge, or an account the user does not
// have, say which, and answer with the exact commands that would work;
// so does `logout` of a network with several logins.
func TestLogoutAndReconnectSayWhatToType(t *testing.T) {
	tn := testnet.New()
	h := ferrytest.Start(t, ferrytest.Options{}, tn)
	alice := h.User("alice")
	mgmt := h.ManagementRoom(alice)

	h.Command(alice, mgmt, "reconnect", "You have no logins. Send `help` to see how to log in.")
	h.Command(alice, mgmt, "logout nowhere", "unknown network `nowhere`; this Ferry bridges `test`")
	h.Command(alice, mgmt, "reconnect nowhere", "unknown network `nowhere`; this Ferry bridges `test`")
	h.Command(alice, mgmt, "logout test", "you have no Testnet login (see `status`)")

	loginTest(t, h, tn, alice, mgmt, "alice")
	loginTest(t, h, tn, alice, mgmt, "carol")
	h.Command(alice, mgmt, "logout test", "you have several Testnet logins; name one: `logout test alice` or `logout test carol`")
	h.Command(alice, mgmt, "logout test dave", "you have no Testnet login `dave`; name one: `logout test alice` or `logout test carol`")
	h.Command(alice, mgmt, "reconnect test dave", "you have no Testnet login `dave`; name one: `reconnect test alice` or `reconnect test carol`")
	h.Command(alice, mgmt, "logout test carol", "Logged out of Testnet (carol)")
}
