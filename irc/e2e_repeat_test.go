package irc

import (
	"slices"
	"testing"

	"maunium.net/go/mautrix/event"
	"maunium.net/go/mautrix/id"

	"github.com/ferrybridge/ferry/internal/testbed"
)

// pasteWithRepeats is a pasted block with the same line three times,
// sent within one second.
var pasteWithRepeats = []string{"if x {", "}", "}", "}", "done"}

// TestE2ERepeatedLinesWithoutMsgID: on a network that gives messages no
// msgid (Libera and OFTC do not), a person saying the same thing twice in
// one second is two messages in Matrix, not one.
func TestE2ERepeatedLinesWithoutMsgID(t *testing.T) {
	e := startEnv(t, testbed.InspIRCdOptions{WithoutModules: []string{"ircv3_msgid"}})
	bob := e.peer("bob")
	bob.send("JOIN", "#repeat")
	bob.expect("his JOIN", isCmd("JOIN", "bob"), nil)
	alice, mgmt, _ := e.loggedInAlice()
	room := e.joinChannel(alice, mgmt, "#repeat")
	bob.expect("alice's JOIN", isCmd("JOIN", "alice"), nil)

	for _, line := range pasteWithRepeats {
		bob.send("PRIVMSG", "#repeat", line)
	}
	if got := linesOf(t, alice, room, e.ghost("bob")); !slices.Equal(got, pasteWithRepeats) {
		t.Errorf("bob's lines reached Matrix as %q, want %q", got, pasteWithRepeats)
	}
}

// TestE2ERepeatedLinesSharedWithoutMsgID: two Ferry logins in the channel
// see every line; the shared room still gets each of the repeated lines
// once, no more.
func TestE2ERepeatedLinesSharedWithoutMsgID(t *testing.T) {
	e := startEnv(t, testbed.InspIRCdOptions{WithoutModules: []string{"ircv3_msgid"}})
	sc := e.bobAliceAndCarolInTwo(t)
	sc.alice.WaitForMembership(t, sc.room, sc.carol.UserID, event.MembershipJoin, waitLong)

	for _, line := range pasteWithRepeats {
		sc.bob.send("PRIVMSG", "#two", line)
	}
	// A line after the paste: both logins read the paste before it, so
	// by the time it is in the room their copies of the paste have
	// reached the core too, unless one login lags a whole line behind
	// the other (then a wrong ID for a repeat could slip past this test;
	// TestRepeatCounterSameOnEveryConnection covers the IDs themselves).
	sc.bob.send("PRIVMSG", "#two", "after")
	ghost := e.ghost("bob")
	sc.alice.WaitForEvent(t, sc.room, waitLong, bodyFrom(ghost, "after"))
	got := linesOf(t, sc.alice, sc.room, ghost)
	if want := append(slices.Clone(pasteWithRepeats), "after"); !slices.Equal(got, want) {
		t.Errorf("bob's lines reached the shared room as %q, want %q", got, want)
	}
}

// linesOf waits for the last line of pasteWithRepeats from ghost in room,
// then returns the bodies of all of ghost's messages there, in order.
func linesOf(t *testing.T, user *testbed.Client, room id.RoomID, ghost id.UserID) []string {
	t.Helper()
	user.WaitForEvent(t, room, waitLong, bodyFrom(ghost, pasteWithRepeats[len(pasteWithRepeats)-1]))
	var got []string
	for _, evt := range user.Events(room) {
		if evt.Sender == ghost && evt.Type == event.EventMessage {
			got = append(got, evt.Content.AsMessage().Body)
		}
	}
	return got
}
