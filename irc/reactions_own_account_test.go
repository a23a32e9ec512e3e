package irc

import (
	"strings"
	"testing"

	"gopkg.in/irc.v4"

	"github.com/ferrybridge/ferry/bridge/network"
)

// TestUnreactFromOwnAccount: a reaction removal whose account tag names
// the account a Ferry login authenticates with is that user's own
// (FromMe), handed over through their login, which keeps the channel
// (in a PM, the login whose PM it is); any other is someone else's,
// handed over by the login that read it.
func TestUnreactFromOwnAccount(t *testing.T) {
	me, host := channelClient(t, "bob", "alice")
	me.meta.SASLAccount = "MeAcct"
	// alice is off the network, and will rejoin #c; gone left it.
	alice := newClient(me.c, &NetworkConfig{}, &network.Login{ID: "test/@alice:ex.org", User: "@alice:ex.org"},
		loginMeta{Network: "test", Nick: "alice2", SASLAccount: "AliceAcct", Channels: map[string]savedChannel{"#c": {Name: "#c"}}})
	gone := newClient(me.c, &NetworkConfig{}, &network.Login{ID: "test/@gone:ex.org", User: "@gone:ex.org"},
		loginMeta{Network: "test", Nick: "gone", SASLAccount: "GoneAcct"})
	me.c.clients[alice.loginID], me.c.clients[gone.loginID] = alice, gone
	for _, tc := range []struct {
		tags, target string
		fromMe       bool
		by           network.LoginID
	}{
		{"account=aliceacct", "#c", true, alice.loginID},
		{"account=AliceAcct", "#c", true, alice.loginID},
		{"account=mallory", "#c", false, me.loginID},
		{"account=*", "#c", false, me.loginID},
		{"", "#c", false, me.loginID},
		{"account=GoneAcct", "#c", false, me.loginID},
		{"account=MeAcct", "#c", true, me.loginID},
		{"account=AliceAcct", "me", false, me.loginID},
		{"account=MeAcct", "me", true, me.loginID},
	} {
		tags := "+draft/unreact=👍;+draft/reply=abc"
		if tc.tags != "" {
			tags = tc.tags + ";" + tags
		}
		me.handleTagMsg(line(t, "@"+tags+" :alice!a@laptop TAGMSG "+tc.target))
		host.lock.Lock()
		events, logins := host.events, host.logins
		host.lock.Unlock()
		host.take()
		if len(events) != 1 {
			t.Errorf("%s to %s: %d events queued, want the removal", tc.tags, tc.target, len(events))
			continue
		}
		remove, ok := events[0].(*network.ReactionRemove)
		if !ok || remove.Sender.FromMe != tc.fromMe || logins[0] != tc.by {
			t.Errorf("%s to %s: queued %#v by %s, want a removal with FromMe %v by %s", tc.tags, tc.target, events[0], logins[0], tc.fromMe, tc.by)
		}
	}
}

// TestUnreactFromOwnAccountAsTheServerNamesIt: the account tag names
// the account the server logged the user in to (RPL_LOGGEDIN), which
// need not be the name they authenticate with (on Atheme, any nick
// grouped to the account logs in to it). A removal tagged with that
// account is the user's own.
func TestUnreactFromOwnAccountAsTheServerNamesIt(t *testing.T) {
	addr := scriptedServer(t, "message-tags account-tag", func(line string, peer *scriptedPeer) {
		if strings.HasPrefix(line, "PING") {
			peer.write(":srv 900 alice alice!alice@host AliceAcct :You are now logged in as AliceAcct")
		}
	})
	cl, host, conn := clientOn(t, addr)
	cl.lock.Lock()
	cl.meta.SASLAccount = "alice_laptop" // a nick grouped to AliceAcct
	cl.lock.Unlock()
	if err := conn.Send(&irc.Message{Command: "PING", Params: []string{"login"}}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the server's RPL_LOGGEDIN", func() bool { return conn.Account() == "AliceAcct" })
	cl.handleTagMsg(line(t, "@account=AliceAcct;+draft/unreact=👍;+draft/reply=abc :alicephone!a@phone TAGMSG #c"))
	events := host.take()
	if len(events) != 1 {
		t.Fatalf("%d events queued, want the removal", len(events))
	}
	if remove, ok := events[0].(*network.ReactionRemove); !ok || !remove.Sender.FromMe {
		t.Errorf("queued %#v, want the user's own removal (FromMe)", events[0])
	}
}
