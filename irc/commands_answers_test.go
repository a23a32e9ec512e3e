package irc

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"gopkg.in/irc.v4"
	"maunium.net/go/mautrix/format"

	"github.com/ferrybridge/ferry/bridge/network"
	"github.com/ferrybridge/ferry/irc/ircconn"
)

// loadedAlice is alice's login on c's network "test" as nick alice,
// loaded and not connected.
func loadedAlice(t *testing.T, c *Connector) network.Client {
	t.Helper()
	meta, _ := json.Marshal(loginMeta{Network: "test", Nick: "alice"})
	client, err := c.LoadLogin(context.Background(), &network.Login{ID: aliceLogin, User: "@alice:ex.org", Metadata: meta})
	if err != nil {
		t.Fatal(err)
	}
	return client
}

// TestCommandRefusalsSayWhatToDo: the IRC commands' refusals name what
// was wrong as the user sees it and what to send instead: no login on
// the network (not "not connected"), a connection that is down, SASL
// the admin has not enabled.
func TestCommandRefusalsSayWhatToDo(t *testing.T) {
	c, _ := connectorWithKey(t, testKey(1))
	c.cfg.Networks["test"].SASL = false
	client := loadedAlice(t, c)
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

// TestCommandAnswersShowNicksAsWritten: the answers to `irc nick` and
// `irc pm` are the bot's Markdown, and the nick in them is the user's or
// the server's words: _x_ put in as it was read as an emphasised "x".
func TestCommandAnswersShowNicksAsWritten(t *testing.T) {
	c, _ := connectorWithKey(t, testKey(1))
	client := loadedAlice(t, c)
	answer := func(handler func(context.Context, *network.CommandEvent) error, args ...string) string {
		var said string
		cmd := &network.CommandEvent{
			User: "@alice:ex.org", Level: network.LevelUser, Args: args, RawArgs: strings.Join(args, " "),
			Logins: []*network.Login{{ID: aliceLogin}},
			Client: func(network.LoginID) (network.Client, bool) { return client, true },
			Reply:  func(s string) { said = s },
		}
		if err := handler(context.Background(), cmd); err != nil {
			t.Fatalf("%v: %v", args, err)
		}
		return said
	}
	nickTaken := ircconn.LabeledReply{Messages: []*irc.Message{{Prefix: &irc.Prefix{Name: "alice"}, Command: "NICK", Params: []string{"_x_"}}}}
	for _, tc := range []struct{ what, markdown, want string }{
		{"irc nick while down", answer(c.cmdNick, "test", "_x_"), "You will ask test for the nick _x_ when connected."},
		{"irc pm", answer(c.cmdPM, "test", "_x_"), "Opening a private chat with _x_ on test."},
		{"the server's NICK", nickAnswer(client.(*Client), nickTaken, "_x_", "alice"), "You are now _x_ on test."},
	} {
		content := format.RenderMarkdown(tc.markdown, true, false)
		if content.Body != tc.want || strings.Contains(content.FormattedBody, "<em>") {
			t.Errorf("%s: %q shows as %q (HTML %q), want %q", tc.what, tc.markdown, content.Body, content.FormattedBody, tc.want)
		}
	}
}
