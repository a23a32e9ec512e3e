package irc

import (
	"context"
	"testing"

	"gopkg.in/irc.v4"
	"maunium.net/go/mautrix/event"

	"github.com/ferrybridge/ferry/internal/testbed"
	"github.com/ferrybridge/ferry/irc/ircconn"
)

// TestE2ENewcomerOnALingeringNick (slow): alice and carol, two Ferry
// logins, share #two. alice disconnects, and at once someone else
// connects as "alice" (another ident, so another user@host) and speaks
// in #two. Her nick still lingers as Ferry's (for late lines of alice's
// own), but this is not alice's connection: the newcomer's join and line
// are bridged by carol from the ghost of "alice".
func TestE2ENewcomerOnALingeringNick(t *testing.T) {
	e := startEnv(t, testbed.InspIRCdOptions{})
	sc := e.bobAliceAndCarolInTwo(t)
	acl, room, carol, ccl := sc.aliceClient, sc.room, sc.carol, sc.carolClient

	acl.Disconnect()
	waitFor(t, "alice's QUIT to reach carol", func() bool {
		ccl.lock.Lock()
		defer ccl.lock.Unlock()
		ch := ccl.channels["#two"]
		if ch == nil {
			return false
		}
		_, in := ch.members["alice"]
		return !in
	})
	msgs := make(chan *irc.Message, 100)
	newcomer, err := ircconn.Dial(context.Background(), ircconn.Config{
		Addr: e.srv.Addr, Nick: "alice", User: "newcomer", Unlimited: true,
		Handler: func(m *irc.Message) {
			select {
			case msgs <- m:
			default:
			}
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = newcomer.Close("bye") })
	if newcomer.Nick() != "alice" {
		t.Fatalf("the newcomer got the nick %q", newcomer.Nick())
	}
	if err := newcomer.Send(&irc.Message{Command: "JOIN", Params: []string{"#two"}}); err != nil {
		t.Fatal(err)
	}
	ghost := e.ghost("alice")
	carol.WaitForMembership(t, room, ghost, event.MembershipJoin, waitLong)
	if err := newcomer.Send(&irc.Message{Command: "PRIVMSG", Params: []string{"#two", "I am the new alice"}}); err != nil {
		t.Fatal(err)
	}
	carol.WaitForEvent(t, room, waitLong, bodyFrom(ghost, "I am the new alice"))
}
