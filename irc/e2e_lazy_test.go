package irc

import (
	"context"
	"testing"

	"maunium.net/go/mautrix/event"
	"maunium.net/go/mautrix/id"

	"github.com/ferrybridge/ferry/internal/testbed"
)

// With lazy_ghosts, a channel member's ghost joins the room when they
// first speak: not from the names list, not from their JOIN. Power levels
// still follow the channel's modes, and a member who leaves after
// speaking takes their ghost out with their reason.
func TestE2ELazyGhosts(t *testing.T) {
	e := startEnvWith(t, testbed.InspIRCdOptions{}, "    lazy_ghosts: true\n")
	// opbob makes #big and gets its +o; carol and dave join it.
	opbob := e.peer("opbob")
	opbob.send("JOIN", "#big")
	opbob.expect("his JOIN", isCmd("JOIN", "opbob"), nil)
	carol, dave := e.peer("carol"), e.peer("dave")
	for nick, p := range map[string]*peer{"carol": carol, "dave": dave} {
		p.send("JOIN", "#big")
		p.expect(nick+"'s JOIN", isCmd("JOIN", nick), nil)
	}

	alice, mgmt, _ := e.loggedInAlice()
	room := e.joinChannel(alice, mgmt, "#big")
	carol.expect("alice's JOIN", isCmd("JOIN", "alice"), nil)

	// carol speaks: her ghost joins, and her line follows.
	carol.send("PRIVMSG", "#big", "hi from carol")
	alice.WaitForEvent(t, room, waitLong, bodyFrom(e.ghost("carol"), "hi from carol"))
	// eve joins after the names list; opbob speaks last.
	eve := e.peer("eve")
	eve.send("JOIN", "#big")
	eve.expect("eve's JOIN", isCmd("JOIN", "eve"), nil)
	opbob.send("PRIVMSG", "#big", "welcome, eve")
	alice.WaitForEvent(t, room, waitLong, bodyFrom(e.ghost("opbob"), "welcome, eve"))

	ctx := context.Background()
	joined, err := alice.JoinedMembers(ctx, room)
	if err != nil {
		t.Fatal(err)
	}
	for nick, want := range map[string]bool{"carol": true, "opbob": true, "dave": false, "eve": false} {
		if _, in := joined.Joined[e.ghost(nick)]; in != want {
			t.Errorf("%s's ghost in the room: %v, want %v (lazy ghosts join when they speak)", nick, in, want)
		}
	}
	var levels event.PowerLevelsEventContent
	if err := alice.StateEvent(ctx, room, event.StatePowerLevels, "", &levels); err != nil {
		t.Fatal(err)
	}
	if got := levels.Users[e.ghost("opbob")]; got != 50 {
		t.Errorf("opbob (+o) has power level %d, want 50", got)
	}

	// dave, whose ghost never joined, quits: nothing happens in the room.
	// carol leaves with a reason: her ghost does too.
	dave.send("QUIT", "off")
	carol.send("PART", "#big", "see you")
	left := alice.WaitForMembership(t, room, e.ghost("carol"), event.MembershipLeave, waitLong)
	if reason := left.Content.AsMember().Reason; reason != "see you" {
		t.Errorf("carol's ghost left with reason %q, want her PART message", reason)
	}
	opbob.send("PRIVMSG", "#big", "quiet now")
	alice.WaitForEvent(t, room, waitLong, bodyFrom(e.ghost("opbob"), "quiet now"))
	for _, evt := range alice.Events(room) {
		if evt.Type == event.StateMember && id.UserID(evt.GetStateKey()) == e.ghost("dave") {
			t.Errorf("dave's ghost has a membership event (%s), though dave never spoke", evt.Content.AsMember().Membership)
		}
	}
}
