package irc

import (
	"strings"
	"testing"

	"github.com/ferrybridge/ferry/internal/testbed"
)

// TestE2EServerPassword (slow): a server that needs a password refuses
// alice until `irc password` stores it (sealed, never in the clear in
// the login's metadata, nor in the store of received Matrix events);
// then she connects.
func TestE2EServerPassword(t *testing.T) {
	e := startEnvWith(t, testbed.InspIRCdOptions{Password: "serverpw-42"}, "secret_key: "+testKey(9)+"\n")
	alice := e.h.User("alice")
	mgmt := e.h.ManagementRoom(alice)
	e.h.Command(alice, mgmt, "login irc test alice", "Logged in to IRC as alice on test")
	e.h.Command(alice, mgmt, "irc password test serverpw-42", "Stored your server password for test")
	loginID := makeLoginID("test", alice.UserID)
	var cl *Client
	waitFor(t, "alice to connect with the password", func() bool {
		e.c.lock.Lock()
		cl = e.c.clients[loginID]
		e.c.lock.Unlock()
		return cl != nil && cl.currentNick() != ""
	})
	cl.lock.Lock()
	stored := string(cl.login.Metadata)
	cl.lock.Unlock()
	if strings.Contains(stored, "serverpw-42") || !strings.Contains(stored, `"password_enc":"v1:`) {
		t.Errorf("stored metadata: %s", stored)
	}
	// Nor in the bridge's store of the Matrix events it received, once
	// the command's event is handled.
	waitFor(t, "the command's stored event to lose the password", func() bool {
		var n int
		if err := e.h.Bridge.DB.QueryRow(t.Context(), `SELECT COUNT(*) FROM matrix_event WHERE data LIKE '%serverpw-42%'`).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n == 0
	})
}
