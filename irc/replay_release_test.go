package irc

import (
	"context"
	"testing"
	"time"

	"github.com/ferrybridge/ferry/bridge/network"
)

// TestUntimedLinesForgottenWithTheLastLogin: the lines remembered to
// know a channel's history replay again are kept while a login of the
// network is in the channel (the one left reads the replay at its
// rejoin as a replay), and forgotten once the last one has left it,
// whichever way.
func TestUntimedLinesForgottenWithTheLastLogin(t *testing.T) {
	for _, tc := range []struct {
		name  string
		leave func(t *testing.T, you *Client)
	}{
		{"parted", func(t *testing.T, you *Client) { you.handlePart(line(t, ":you!y@host PART #c")) }},
		{"kicked", func(t *testing.T, you *Client) { you.handleKick(line(t, ":op!o@host KICK #c you :out")) }},
		{"left from Matrix while disconnected", func(t *testing.T, you *Client) {
			you.onDisconnected(nil)
			if err := you.LeaveChat(context.Background(), you.channelKey("#c")); err != nil {
				t.Fatal(err)
			}
		}},
		{"logged out", func(t *testing.T, you *Client) {
			if err := you.Logout(context.Background()); err != nil {
				t.Fatal(err)
			}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			me, you := twoLoginsInC(t)
			said := line(t, ":bob!b@host PRIVMSG #c :hello")
			if me.isReplay("#c", said) {
				t.Fatal("bob's line, said live, was taken for a replay")
			}

			me.handlePart(line(t, ":me!m@host PART #c"))
			// you rejoin: the server replays bob's line.
			you.lock.Lock()
			you.openReplayLocked("#c", time.Now())
			you.lock.Unlock()
			if !you.isReplay("#c", said) {
				t.Error("with me gone, bob's line replayed to you was not known again")
			}

			tc.leave(t, you)
			if untimedHeld(me.c, "#c") {
				t.Error("the channel's lines are still held with no login in it")
			}
		})
	}
}

// TestUntimedLinesKeptForADisconnectedLogin: a login only disconnected
// keeps its channels to rejoin them, and the replay at the rejoin is
// what the lines are remembered for: they stay when the other login
// leaves meanwhile.
func TestUntimedLinesKeptForADisconnectedLogin(t *testing.T) {
	me, you := twoLoginsInC(t)
	if me.isReplay("#c", line(t, ":bob!b@host PRIVMSG #c :hello")) {
		t.Fatal("bob's line, said live, was taken for a replay")
	}
	you.onDisconnected(nil)
	me.handlePart(line(t, ":me!m@host PART #c"))
	if !untimedHeld(me.c, "#c") {
		t.Error("the channel's lines were forgotten while you, disconnected, will rejoin it")
	}
}

// twoLoginsInC is channelClient's "me" and a second login "you" of the
// same network, both in #c with bob, and keeping it to rejoin.
func twoLoginsInC(t *testing.T) (me, you *Client) {
	t.Helper()
	me, _ = channelClient(t, "bob")
	you = newClient(me.c, &NetworkConfig{}, &network.Login{ID: "test/@you:ex.org", User: "@you:ex.org"}, loginMeta{Network: "test", Nick: "you"})
	you.nick = "you"
	me.c.clients[you.loginID] = you
	for _, cl := range []*Client{me, you} {
		cl.channels["#c"] = &channelState{name: "#c", members: map[string]string{"me": "", "you": "", "bob": ""}, synced: true}
		cl.meta.Channels = map[string]savedChannel{"#c": {Name: "#c"}}
	}
	return me, you
}

// untimedHeld reports whether c remembers untimed lines of channel
// (casefolded) on the test network.
func untimedHeld(c *Connector, channel string) bool {
	return c.untimed.held(untimedKey("test", channel))
}

// TestUntimedLinesForgottenWhenThePartIsCutOff: the user leaves the
// room, and the connection drops before the server's answer to the PART
// came. The login does not rejoin the channel, so its lines are
// forgotten as if the PART had come.
func TestUntimedLinesForgottenWhenThePartIsCutOff(t *testing.T) {
	you, _, conn := clientOn(t, scriptedServer(t, "", func(string, *scriptedPeer) {}))
	you.meta.Channels = map[string]savedChannel{"#c": {Name: "#c"}}
	if you.isReplay("#c", line(t, ":bob!b@host PRIVMSG #c :hello")) {
		t.Fatal("bob's line, said live, was taken for a replay")
	}
	if err := you.LeaveChat(context.Background(), you.channelKey("#c")); err != nil {
		t.Fatal(err)
	}
	you.onDisconnected(conn)
	if untimedHeld(you.c, "#c") {
		t.Error("the channel's lines are still held with no login in it or rejoining it")
	}
}
