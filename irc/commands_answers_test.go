package irc

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/ferrybridge/ferry/bridge/network"
)

// TestCommandRefusalsSayWhatToDo: the IRC commands' refusals name what
// was wrong as the user sees it and what to send instead: no login on
// the network (not "not connected"), a connection that is down, SASL
// the admin has not enabled.
func TestCommandRefusalsSayWhatToDo(t *testing.T) {
	c, _ := connectorWithKey(t, testKey(1))
	c.cfg.Networks["test"].SASL = false
	meta, _ := json.Marshal(loginMeta{Network: "test", Nick: "alice"})
	client, err := c.LoadLogin(context.Background(), &network.Login{ID: aliceLogin, User: "@alice:ex.org", Metadata: meta})
	if err != nil {
		t.Fatal(err)
	}
	run := func(handler func(context.Context, *network.CommandEvent) error, loggedIn bool, args ...string) string {
		cmd := &network.CommandEvent{
			User: "@alice:ex.org", Level: network.LevelUser, Args: args, RawArgs: strings.Join(args, " "),
			Client: func(network.LoginID) (network.Client, bool) { return client, true },
			Reply:  func(string) {},
		}
		if loggedIn {
			cmd.Logins = []*network.Login{{ID: aliceLogin}}
		}
		return network.UserMessage(handler(context.Background(), cmd), "Something went wrong")
	}
	for _, tc := range []struct {
		what string
		got  string
		want string
	}{
		{"a join without a login", run(c.cmdJoin, false, "test", "#chan"), "you are not logged in to test; send `login irc test` first"},
		{"a join while down", run(c.cmdJoin, true, "test", "#chan"), "not connected to test right now (see `status`); send `reconnect irc` to connect again"},
		{"a whois while down", run(c.cmdWhois, true, "test", "bob"), "not connected to test right now (see `status`); send `reconnect irc` to connect again"},
		{"a raw line while down", run(c.cmdRaw, true, "test", "PING", "x"), "not connected to test right now (see `status`)"},
		{"sasl not enabled", run(c.cmdSASL, true, "test", "alice", "s3cret"), "SASL is not enabled for test: ask the admin to set `sasl: true` for it under `irc.networks`"},
	} {
		if !strings.Contains(tc.got, tc.want) {
			t.Errorf("%s: told %q, want %q", tc.what, tc.got, tc.want)
		}
	}
}
