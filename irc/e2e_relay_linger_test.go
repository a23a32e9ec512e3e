package irc

import (
	"context"
	"slices"
	"testing"

	"gopkg.in/irc.v4"
	"maunium.net/go/mautrix/event"

	"github.com/ferrybridge/ferry/internal/testbed"
	"github.com/ferrybridge/ferry/irc/ircconn"
)

// TestE2ENewcomerOnTheRelayBotsLingeringNick (slow): the relay bot has
// relayed dave's line to #relay, then its connection ends, and at once
// someone else connects as "ferry-relay" (another ident, so another
// user@host), joins #relay and speaks. The bot's nick still lingers as
// Ferry's (for its own late lines and its QUIT), but this is not the
// bot's connection: alice's login bridges the newcomer's join and line
// from the ghost of "ferry-relay", as for a login's lingering nick, lists
// the newcomer among #relay's members, and makes bob's mention of
// "ferry-relay" a pill of that ghost.
func TestE2ENewcomerOnTheRelayBotsLingeringNick(t *testing.T) {
	e := startEnv(t, testbed.InspIRCdOptions{})
	r := e.relayingTo(t, "#relay", "")
	alice, dave, acl, room, bob := r.alice, r.dave, r.aliceClient, r.room, r.bob
	dave.SendText(t, room, "relayed")
	bob.expect("the relayed line", isCmd("PRIVMSG", "ferry-relay"), nil)

	e.c.lock.Lock()
	bot := e.c.relays["test"]
	e.c.lock.Unlock()
	conn := bot.current()
	if conn == nil {
		t.Fatal("the relay bot has no connection")
	}
	_ = conn.Close("relay bot gone")
	bob.expect("the relay bot's QUIT", isCmd("QUIT", "ferry-relay"), nil)
	waitFor(t, "the relay bot's QUIT to reach alice", func() bool {
		acl.lock.Lock()
		defer acl.lock.Unlock()
		ch := acl.channels["#relay"]
		if ch == nil {
			return false
		}
		_, in := ch.members["ferry-relay"]
		return !in
	})
	if !e.c.isFerryNick("test", "ferry-relay") {
		t.Fatal("the relay bot's nick does not linger")
	}

	newcomer, err := ircconn.Dial(context.Background(), ircconn.Config{
		Addr: e.srv.Addr, Nick: "ferry-relay", User: "newcomer", Unlimited: true,
		Handler: func(*irc.Message) {},
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = newcomer.Close("bye") })
	if newcomer.Nick() != "ferry-relay" {
		t.Fatalf("the newcomer got the nick %q", newcomer.Nick())
	}
	if err := newcomer.Send(&irc.Message{Command: "JOIN", Params: []string{"#relay"}}); err != nil {
		t.Fatal(err)
	}
	ghost := e.ghost("ferry-relay")
	alice.WaitForMembership(t, room, ghost, event.MembershipJoin, waitLong)
	if err := newcomer.Send(&irc.Message{Command: "PRIVMSG", Params: []string{"#relay", "I am not the bot"}}); err != nil {
		t.Fatal(err)
	}
	alice.WaitForEvent(t, room, waitLong, bodyFrom(ghost, "I am not the bot"))

	// While the bot's nick still lingers, the newcomer is a member like
	// any other: in the channel's member list (which a NAMES reply sends
	// as the full list, whose absentees leave the room) and in pills.
	if !e.c.isFerryNick("test", "ferry-relay") {
		t.Fatal("the relay bot's nick stopped lingering before the checks")
	}
	info, err := acl.ChatInfo(e.h.Context(waitLong), acl.channelKey("#relay").Chat)
	if err != nil {
		t.Fatal(err)
	}
	listed := false
	for _, m := range info.Members.Members {
		listed = listed || m.User == acl.userID("ferry-relay")
	}
	if !listed {
		t.Errorf("the newcomer on the bot's lingering nick is not in #relay's member list: %+v", info.Members.Members)
	}
	bob.send("PRIVMSG", "#relay", "ferry-relay: welcome")
	said := alice.WaitForEvent(t, room, waitLong, bodyFrom(e.ghost("bob"), "ferry-relay: welcome"))
	if mentions := said.Content.AsMessage().Mentions; mentions == nil || !slices.Contains(mentions.UserIDs, ghost) {
		t.Errorf("bob's mention of the newcomer is no pill of %s: %v", ghost, said.Content.Raw)
	}
}
