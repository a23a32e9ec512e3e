package irc

import (
	"strings"
	"testing"

	"gopkg.in/irc.v4"
	"maunium.net/go/mautrix/event"
	"maunium.net/go/mautrix/id"

	"github.com/ferrybridge/ferry/internal/testbed"
)

// TestE2ELateLinesOfEndedLogin (slow): alice and carol, two Ferry logins,
// share #two. alice says something and at once disconnects, or changes
// nick, while carol's connection is behind (a proxy holds what the
// server sends it): carol reads alice's line only after alice stopped
// using her nick. The line came from Matrix and is in the room already,
// so it must not come again from a ghost of alice; nor is her QUIT a
// ghost's leave.
func TestE2ELateLinesOfEndedLogin(t *testing.T) {
	for _, tc := range []struct {
		name  string
		leave func(t *testing.T, acl *Client)
	}{
		{"disconnect", func(t *testing.T, acl *Client) { acl.Disconnect() }},
		{"nick change", func(t *testing.T, acl *Client) {
			if err := acl.currentConn().Send(&irc.Message{Command: "NICK", Params: []string{"alice2"}}); err != nil {
				t.Fatal(err)
			}
			waitFor(t, "alice to be alice2", func() bool { return acl.currentNick() == "alice2" })
		}},
	} {
		t.Run(tc.name, func(t *testing.T) { testLateLinesOfLogin(t, tc.leave) })
	}
}

func testLateLinesOfLogin(t *testing.T, leave func(t *testing.T, acl *Client)) {
	var proxy *holdProxy
	e := startEnvVia(t, testbed.InspIRCdOptions{}, "", func(addr string) string {
		proxy = newHoldProxy(t, addr)
		// Without labeled-response (as on Solanum), a sent line's ID is
		// not the server's msgid, so the core cannot tell the late line
		// for the one it sent.
		proxy.rewrite = withoutCap("labeled-response")
		return proxy.addr
	})
	sc := e.bobAliceAndCarolInTwo(t)
	bob, alice, acl, room, carol := sc.bob, sc.alice, sc.aliceClient, sc.room, sc.carol
	alice.WaitForMembership(t, room, carol.UserID, event.MembershipJoin, waitLong)

	proxy.hold("carol")
	alice.SendText(t, room, "said just before leaving")
	bob.expect("alice's line", isCmd("PRIVMSG", "alice"), nil)
	leave(t, acl)
	proxy.release("carol")

	// bob's line comes after alice's in carol's stream: once it is in the
	// room, carol has handled alice's.
	bob.send("PRIVMSG", "#two", "after")
	alice.WaitForEvent(t, room, waitLong, bodyFrom(e.ghost("bob"), "after"))
	for _, ghost := range []id.UserID{e.ghost("alice"), e.ghost("alice2")} {
		for _, evt := range alice.Events(room) {
			if evt.Sender == ghost || evt.GetStateKey() == ghost.String() {
				t.Errorf("alice's own nick was bridged as a ghost: %s %s %v", ghost, evt.Type.Type, evt.Content.Raw)
			}
		}
	}
}

// withoutCap is a holdProxy rewrite that takes capability name out of
// the server's CAP LS and NEW lists.
func withoutCap(name string) func(string) string {
	return func(line string) string {
		msg, err := irc.ParseMessage(strings.TrimRight(line, "\r\n"))
		if err != nil || msg.Command != "CAP" || len(msg.Params) < 3 {
			return line
		}
		if sub := strings.ToUpper(msg.Params[1]); sub != "LS" && sub != "NEW" {
			return line
		}
		last := len(msg.Params) - 1
		var kept []string
		for _, c := range strings.Fields(msg.Params[last]) {
			if c != name && !strings.HasPrefix(c, name+"=") {
				kept = append(kept, c)
			}
		}
		msg.Params[last] = strings.Join(kept, " ")
		return msg.String() + "\r\n"
	}
}

// twoScene is #two with bob (plain IRC) in it, and alice and carol
// logged in, both in its room and on the channel.
type twoScene struct {
	bob                      *peer
	alice, carol             *testbed.Client
	room, aliceMgmt          id.RoomID
	aliceClient, carolClient *Client
}

func (e *ircEnv) bobAliceAndCarolInTwo(t *testing.T) twoScene {
	t.Helper()
	var sc twoScene
	sc.bob = e.peer("bob")
	sc.bob.send("JOIN", "#two")
	sc.bob.expect("his JOIN", isCmd("JOIN", "bob"), nil)
	sc.alice, sc.aliceMgmt, sc.aliceClient = e.loggedInAlice()
	sc.room = e.joinChannel(sc.alice, sc.aliceMgmt, "#two")
	sc.carol = e.h.User("carol")
	cmgmt := e.h.ManagementRoom(sc.carol)
	sc.carolClient = e.login(sc.carol, cmgmt, "carol")
	e.h.Command(sc.carol, cmgmt, "irc join test #two", "Joining #two")
	if got := portalInvite(t, sc.carol, cmgmt); got != sc.room {
		t.Fatalf("carol was invited to %s, not #two's room %s", got, sc.room)
	}
	sc.carol.Join(t, sc.room.String())
	waitFor(t, "carol to be in #two", func() bool { return sc.carolClient.inChannel("#two") })
	return sc
}
