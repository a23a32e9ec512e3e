package irc

import (
	"context"
	"testing"

	"github.com/ferrybridge/ferry/bridge/network"
	"github.com/ferrybridge/ferry/internal/testbed"
)

// TestE2EServerPasswordWithSpaces (slow): PASS takes its password as a
// trailing parameter, so a server password may hold spaces (InspIRCd's
// connect class here has one). `irc password` takes the rest of the
// line as the password, spaces and all, and alice connects with it.
func TestE2EServerPasswordWithSpaces(t *testing.T) {
	const pw = "correct horse  battery:staple"
	e := startEnvWith(t, testbed.InspIRCdOptions{Password: pw}, "secret_key: "+testKey(9)+"\n")
	alice := e.h.User("alice")
	mgmt := e.h.ManagementRoom(alice)
	e.h.Command(alice, mgmt, "login irc test alice", "Logged in to IRC as alice on test")
	e.h.Command(alice, mgmt, "irc password test "+pw, "Stored your server password for test")
	loginID := makeLoginID("test", alice.UserID)
	waitFor(t, "alice to connect with the password", func() bool {
		e.c.lock.Lock()
		cl := e.c.clients[loginID]
		e.c.lock.Unlock()
		return cl != nil && cl.currentNick() != ""
	})
}

// TestSASLPasswordWithSpaces: SASL PLAIN carries any password but NUL,
// so `irc sasl <network> <account> <password>` takes the rest of the
// line after the account as the password, inner spacing kept, as the
// core hands it over (RawArgs). Too few words still get the usage.
func TestSASLPasswordWithSpaces(t *testing.T) {
	c, _ := connectorWithKey(t, testKey(3))
	client := loadedAlice(t, c)
	cl := client.(*Client)
	run := func(handler func(context.Context, *network.CommandEvent) error, raw string, args ...string) error {
		return handler(context.Background(), &network.CommandEvent{
			User: "@alice:ex.org", Args: args, RawArgs: raw,
			Logins: []*network.Login{{ID: aliceLogin}},
			Client: func(network.LoginID) (network.Client, bool) { return client, true },
			Reply:  func(string) {},
		})
	}
	if err := run(c.cmdSASL, "test alice my  secret pass", "test", "alice", "my", "secret", "pass"); err != nil {
		t.Fatalf("irc sasl with a spaced password: %v", err)
	}
	if err := run(c.cmdPassword, "test server pass ", "test", "server", "pass"); err != nil {
		t.Fatalf("irc password with a spaced password: %v", err)
	}
	cl.lock.Lock()
	m := cl.meta
	cl.lock.Unlock()
	pw, sasl, err := cl.credentials(&m)
	if err != nil || sasl != "my  secret pass" || m.SASLAccount != "alice" || pw != "server pass" {
		t.Errorf("stored credentials: server %q, SASL %q as %q (%v)", pw, sasl, m.SASLAccount, err)
	}
	if err := run(c.cmdSASL, "test alice", "test", "alice"); err == nil {
		t.Errorf("irc sasl without a password was taken")
	}
	if err := run(c.cmdPassword, "test", "test"); err == nil {
		t.Errorf("irc password without a password was taken")
	}
}
