package irc

import (
	"context"
	"testing"
	"time"

	"maunium.net/go/mautrix/event"
	"maunium.net/go/mautrix/id"

	"github.com/ferrybridge/ferry/bridge/network"
	"github.com/ferrybridge/ferry/internal/testbed"
	"github.com/ferrybridge/ferry/irc/ircconn"
)

// TestE2ECaseMappingChangeOldGhostsLeave (slow): Bob[ and carol are in
// #c with alice, whose connection folds rfc1459: Bob['s ghost is
// "test/bob{". Alice's connection drops and comes back announcing
// CASEMAPPING=ascii while both stay in #c. Bob[ now has the ghost
// "test/bob[", which joins; his old ghost must leave at that member
// sync, not stay as a second Bob[ in the room. carol's ghost, the same
// under both, stays; and a line of Bob['s after the change arrives.
func TestE2ECaseMappingChangeOldGhostsLeave(t *testing.T) {
	shortBackoff(t)
	e, ascii := startCaseMappingFlipEnv(t)
	bob, carol := e.peer("Bob["), e.peer("carol")
	for nick, p := range map[string]*peer{"Bob[": bob, "carol": carol} {
		p.send("JOIN", "#c")
		p.expect(nick+"'s JOIN", isCmd("JOIN", nick), nil)
	}
	alice, mgmt, cl := e.loggedInAlice()
	room := e.joinChannel(alice, mgmt, "#c")
	oldBob := e.ghost("Bob[")
	newBob := e.h.Bridge.Ghosts.MXID(network.GhostKey{Network: NetworkID, User: makeUserID("test", ircconn.CaseMappingASCII, "Bob[")})
	if oldBob == newBob {
		t.Fatalf("Bob[ has the same ghost under both casemappings: %s", oldBob)
	}
	alice.WaitForMembership(t, room, oldBob, event.MembershipJoin, waitLong)
	alice.WaitForMembership(t, room, e.ghost("carol"), event.MembershipJoin, waitLong)

	ascii.Store(true)
	old := cl.currentConn()
	_ = old.Close("casemapping change")
	waitFor(t, "alice to rejoin #c under ascii", func() bool {
		conn := cl.currentConn()
		return conn != nil && conn != old && conn.ISupport().CaseMapping == ircconn.CaseMappingASCII && cl.inChannel("#c")
	})
	alice.WaitForMembership(t, room, newBob, event.MembershipJoin, waitLong)
	bob.send("PRIVMSG", "#c", "after the change")
	alice.WaitForEvent(t, room, waitLong, bodyFrom(newBob, "after the change"))

	deadline := time.Now().Add(waitLong)
	var joined map[id.UserID]bool
	for {
		joined = joinedMembers(t, alice, room)
		if !joined[oldBob] || time.Now().After(deadline) {
			break
		}
		time.Sleep(200 * time.Millisecond)
	}
	if joined[oldBob] {
		t.Errorf("Bob['s old ghost %s is still in the room beside his new one %s: %v", oldBob, newBob, joined)
	}
	if !joined[newBob] || !joined[e.ghost("carol")] {
		t.Errorf("the room's members after the change: %v, want %s and carol's ghost", joined, newBob)
	}
	// carol's ghost never left and came back.
	for _, evt := range alice.Events(room) {
		if evt.Type == event.StateMember && id.UserID(evt.GetStateKey()) == e.ghost("carol") &&
			evt.Content.AsMember().Membership == event.MembershipLeave {
			t.Errorf("carol's ghost, the same under both casemappings, left the room")
		}
	}
}

func joinedMembers(t *testing.T, user *testbed.Client, room id.RoomID) map[id.UserID]bool {
	t.Helper()
	resp, err := user.JoinedMembers(context.Background(), room)
	if err != nil {
		t.Fatal(err)
	}
	out := map[id.UserID]bool{}
	for u := range resp.Joined {
		out[u] = true
	}
	return out
}
