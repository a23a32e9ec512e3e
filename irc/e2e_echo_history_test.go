package irc

import (
	"strings"
	"testing"

	"github.com/ferrybridge/ferry/internal/testbed"
)

// TestE2EReplayedLineOfOursIsNoEcho: InspIRCd's chanhistory replays a +H
// channel's recent lines to every client that joins, inside a
// chathistory batch. On a server with echo-message but no
// labeled-response, alice says something, reconnects, and says it again
// before her new connection has read its JOIN's answer: the replay, with
// her old line and its msgid, comes before the echo of the new one. The
// old line is history, not the echo: bob's reaction to the line he saw
// reaches the second message.
func TestE2EReplayedLineOfOursIsNoEcho(t *testing.T) {
	var proxy *holdProxy
	e := startEnvVia(t, testbed.InspIRCdOptions{ChanHistory: true, WithoutModules: []string{"ircv3_labeledresponse"}}, "", func(addr string) string {
		proxy = newHoldProxy(t, addr)
		return proxy.addr
	})
	bob, alice, mgmt, cl, room, bobGhost := bobAndAliceInFerry(t, e)
	bob.send("MODE", "#ferry", "+H", "50:1d")
	bob.expect("his MODE", isCmd("MODE", "bob"), nil)
	alice.SendText(t, room, "the same words")
	old := bob.aliceLineWithMsgid()

	// Her new connection's lines are held from the server's answer to
	// her JOIN on: the replay and the echo are read in one go.
	proxy.holdFrom("alice", func(line string) bool {
		return strings.Contains(line, ":alice!") && strings.Contains(line, " JOIN ")
	})
	reconnectByCommand(t, e, alice, mgmt, cl, bob)
	sent := alice.SendText(t, room, "the same words")
	am := bob.aliceLineWithMsgid()
	if am.Tags["msgid"] == old.Tags["msgid"] {
		t.Fatalf("alice's lines reached bob with msgids %q and %q", old.Tags["msgid"], am.Tags["msgid"])
	}
	proxy.release("alice")
	bobsReactionReaches(t, bob, am, alice, room, bobGhost, sent)
}
