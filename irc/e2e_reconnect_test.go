package irc

import (
	"strings"
	"testing"
	"time"

	"maunium.net/go/mautrix/event"
	"maunium.net/go/mautrix/id"

	"github.com/ferrybridge/ferry/internal/testbed"
)

// shortBackoff makes reconnects quick for the rest of the test.
func shortBackoff(t *testing.T) {
	backoffBase.setForTest(t, 100*time.Millisecond)
	backoffMax.setForTest(t, time.Second)
}

// waitFor polls cond until it holds, failing after waitLong.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(waitLong)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestE2EReconnect (slow): the IRC server restarts; a Matrix message sent
// meanwhile is reported as not sent, the login reconnects with backoff and
// rejoins its channel, lines flow both ways again, and the user gets no
// connection notices for a short outage.
func TestE2EReconnect(t *testing.T) {
	shortBackoff(t)
	e := startEnv(t, testbed.InspIRCdOptions{})
	bob, alice, mgmt, cl, room, bobGhost := bobAndAliceInFerry(t, e)

	e.srv.Kill()
	waitFor(t, "the connection to drop", func() bool { return cl.currentConn() == nil })
	lost := alice.SendText(t, room, "while the server is down")
	notice := alice.WaitForEvent(t, room, waitLong, func(evt *event.Event) bool {
		msg := evt.Content.AsMessage()
		return evt.Sender == e.h.BotMXID && msg != nil && msg.RelatesTo.GetReplyTo() == lost
	})
	if body := notice.Content.AsMessage().Body; !strings.Contains(body, "not sent") {
		t.Errorf("the failure was reported as %q", body)
	}

	e.srv.Restart(t)
	waitFor(t, "alice to rejoin #ferry", func() bool { return cl.inChannel(cl.fold("#ferry")) })
	bob = e.peer("bob")
	bob.send("JOIN", "#ferry")
	bob.expect("his JOIN", isCmd("JOIN", "bob"), nil)
	bob.send("PRIVMSG", "#ferry", "after the restart")
	alice.WaitForEvent(t, room, waitLong, bodyFrom(bobGhost, "after the restart"))
	alice.SendText(t, room, "back again")
	if m := bob.expect("alice's line", isCmd("PRIVMSG", "alice"), nil); m.Param(1) != "back again" {
		t.Errorf("bob got %v", m)
	}
	// The outage was short: the core's debounce kept the user unbothered.
	for _, evt := range alice.Events(mgmt) {
		if msg := evt.Content.AsMessage(); evt.Sender == e.h.BotMXID && msg != nil && strings.Contains(msg.Body, "disconnected") {
			t.Errorf("connection notice for a short outage: %q", msg.Body)
		}
	}
	for _, evt := range alice.Events(room) {
		if bodyFrom(bobGhost, "while the server is down")(evt) {
			t.Errorf("the unsent message appeared as bridged")
		}
	}
}

// reconnectByCommand has alice give the core's `reconnect irc` in mgmt,
// and waits until bob has seen her quit and join again, on a new
// connection of cl.
func reconnectByCommand(t *testing.T, e *ircEnv, alice *testbed.Client, mgmt id.RoomID, cl *Client, bob *peer) {
	t.Helper()
	first := cl.currentConn()
	e.h.Command(alice, mgmt, "reconnect irc", "Reconnecting IRC")
	bob.expect("alice's QUIT", isCmd("QUIT", "alice"), nil)
	bob.expect("alice's JOIN again", isCmd("JOIN", "alice"), nil)
	if cl.currentConn() == first {
		t.Fatal("alice is still on her first connection")
	}
}

// TestE2EReconnectCommand: the core's `reconnect irc` closes alice's
// connection and opens a new one, which rejoins her channel; lines flow
// both ways over it.
func TestE2EReconnectCommand(t *testing.T) {
	e := startEnv(t, testbed.InspIRCdOptions{})
	bob, alice, mgmt, cl, room, bobGhost := bobAndAliceInFerry(t, e)
	reconnectByCommand(t, e, alice, mgmt, cl, bob)
	bob.send("PRIVMSG", "#ferry", "after the reconnect")
	alice.WaitForEvent(t, room, waitLong, bodyFrom(bobGhost, "after the reconnect"))
	alice.SendText(t, room, "still here")
	if m := bob.expect("alice's line", isCmd("PRIVMSG", "alice"), nil); m.Param(1) != "still here" {
		t.Errorf("bob got %v", m)
	}
}

// bobAndAliceInFerry has bob (a plain IRC client) and alice (logged in
// through Ferry) in #ferry, each seeing the other: bob's ghost has joined
// alice's room, and bob has seen alice's JOIN.
func bobAndAliceInFerry(t *testing.T, e *ircEnv) (bob *peer, alice *testbed.Client, mgmt id.RoomID, cl *Client, room id.RoomID, bobGhost id.UserID) {
	t.Helper()
	bob = e.peer("bob")
	bob.send("JOIN", "#ferry")
	bob.expect("his JOIN", isCmd("JOIN", "bob"), nil)
	alice, mgmt, cl = e.loggedInAlice()
	room = e.joinChannel(alice, mgmt, "#ferry")
	bobGhost = e.ghost("bob")
	alice.WaitForMembership(t, room, bobGhost, event.MembershipJoin, waitLong)
	bob.expect("alice's JOIN", isCmd("JOIN", "alice"), nil)
	return bob, alice, mgmt, cl, room, bobGhost
}
