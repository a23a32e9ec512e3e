package irc

import (
	"testing"

	"maunium.net/go/mautrix/event"

	"github.com/ferrybridge/ferry/internal/testbed"
)

// untimedHistoryServer is InspIRCd with chanhistory as networks run it
// (its "Replaying up to N lines" notice on) and nothing that marks a
// replayed line: no server-time, no msgid, no batch.
var untimedHistoryServer = testbed.InspIRCdOptions{
	WithoutModules: []string{"ircv3_servertime", "ircv3_msgid", "ircv3_batch", "ircv3_labeledresponse"},
	ExtraConfig:    "<module name=\"chanhistory\">\n<chanhistory maxlines=\"50\" notice=\"yes\">\n",
}

// TestE2EHistoryReplayUntimed: on such a server the history InspIRCd
// replays at every JOIN is not bridged again, neither at a reconnect nor
// when a second Ferry login joins; a line said right after the JOIN,
// while the replay may still be read, is bridged.
func TestE2EHistoryReplayUntimed(t *testing.T) {
	e := startEnv(t, untimedHistoryServer)
	bob := e.peer("bob")
	bob.send("JOIN", "#hist")
	bob.expect("his JOIN", isCmd("JOIN", "bob"), nil)
	bob.send("MODE", "#hist", "+H", "50:1d")

	alice, amgmt, acl := e.loggedInAlice()
	room := e.joinChannel(alice, amgmt, "#hist")
	bob.expect("alice's JOIN", isCmd("JOIN", "alice"), nil)
	ghost := e.ghost("bob")
	alice.WaitForMembership(t, room, ghost, event.MembershipJoin, waitLong)
	lines := []string{"first live line", "second live line", "ok"}
	for _, line := range lines {
		bob.send("PRIVMSG", "#hist", line)
	}
	alice.WaitForEvent(t, room, waitLong, bodyFrom(ghost, "ok"))

	// alice reconnects: her new connection is sent the history again.
	// bob answers her JOIN at once.
	reconnectByCommand(t, e, alice, amgmt, acl, bob)
	bob.send("PRIVMSG", "#hist", "right after the join")
	bob.send("PRIVMSG", "#hist", "welcome back")
	alice.WaitForEvent(t, room, waitLong, bodyFrom(ghost, "welcome back"))

	// carol, a second Ferry login, joins: hers too.
	carol := e.h.User("carol")
	cmgmt := e.h.ManagementRoom(carol)
	ccl := e.login(carol, cmgmt, "carol")
	e.h.Command(carol, cmgmt, "irc join test #hist", "Joining #hist")
	bob.expect("carol's JOIN", isCmd("JOIN", "carol"), nil)
	waitFor(t, "carol to be in #hist", func() bool { return ccl.inChannel("#hist") })
	bob.send("PRIVMSG", "#hist", "hello carol")
	alice.WaitForEvent(t, room, waitLong, bodyFrom(ghost, "hello carol"))

	counts := map[string]int{}
	for _, evt := range alice.Events(room) {
		if msg := evt.Content.AsMessage(); evt.Sender == ghost && evt.Type == event.EventMessage && msg != nil {
			counts[msg.Body]++
		}
	}
	for _, line := range append(lines, "right after the join", "welcome back", "hello carol") {
		if counts[line] != 1 {
			t.Errorf("%q is in the room %d times, want once", line, counts[line])
		}
	}
}
