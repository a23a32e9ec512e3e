package irc

import (
	"testing"

	"maunium.net/go/mautrix/event"

	"github.com/ferrybridge/ferry/bridge/network"
	"github.com/ferrybridge/ferry/irc/ircconn"
)

// TestE2ECaseMappingChangeKeepsPMRooms (slow): Bob[ writes to alice while
// the network folds rfc1459 (DM chat ID "test/bob{"); InspIRCd restarts
// announcing CASEMAPPING=ascii (a proxy rewrites its 005). His next PM
// reaches the same room, which moved to "test/bob[", and alice's answer
// there reaches him. His lines come from his ghost already in the room
// (his ID under rfc1459), also after Ferry restarts; his ghost under
// ascii never joins it.
func TestE2ECaseMappingChangeKeepsPMRooms(t *testing.T) {
	shortBackoff(t)
	e, ascii := startCaseMappingFlipEnv(t)
	alice, mgmt, cl := e.loggedInAlice()
	bob := e.peer("Bob[")
	bob.send("PRIVMSG", "alice", "before the change")
	room := portalInvite(t, alice, mgmt)
	alice.Join(t, room.String())
	alice.WaitForEvent(t, room, waitLong, bodyFrom(e.ghost("Bob["), "before the change"))

	ascii.Store(true)
	e.srv.Restart(t)
	waitFor(t, "alice to reconnect under ascii", func() bool {
		conn := cl.currentConn()
		return conn != nil && conn.ISupport().CaseMapping == ircconn.CaseMappingASCII
	})
	bob = e.peer("Bob[")
	bob.send("PRIVMSG", "alice", "after the change")
	// From the ghost already in the room (his ID folded the old way),
	// not a second one beside it.
	oldGhost := e.ghost("Bob[")
	alice.WaitForEvent(t, room, waitLong, bodyFrom(oldGhost, "after the change"))
	alice.SendText(t, room, "still you?")
	if m := bob.expect("alice's answer", isCmd("PRIVMSG", "alice"), nil); m.Param(1) != "still you?" {
		t.Errorf("Bob[ got %v", m)
	}
	cl.lock.Lock()
	peer, ok := cl.meta.PMs["bob["]
	cl.lock.Unlock()
	if !ok || peer.Nick != "Bob[" || peer.Ghost != "test/bob{" {
		t.Errorf("the PM peer after the change: %+v (found %v)", peer, ok)
	}

	// The same after a restart of Ferry (a fresh connector: a stopped one
	// does not start again), which knows of the change only from the login.
	e.h.StopBridge()
	e.c = New()
	e.h.Connectors = []network.Connector{e.c}
	e.h.StartBridge()
	waitFor(t, "alice to reconnect after the restart", func() bool {
		e.c.lock.Lock()
		cl = e.c.clients[makeLoginID("test", alice.UserID)]
		e.c.lock.Unlock()
		return cl != nil && cl.currentNick() != ""
	})
	bob.send("PRIVMSG", "alice", "after the restart")
	alice.WaitForEvent(t, room, waitLong, bodyFrom(oldGhost, "after the restart"))

	newGhost := e.h.Bridge.Ghosts.MXID(network.GhostKey{Network: NetworkID, User: makeUserID("test", ircconn.CaseMappingASCII, "Bob[")})
	if newGhost == oldGhost {
		t.Fatalf("Bob[ has the same ghost under both casemappings: %s", newGhost)
	}
	for _, evt := range alice.Events(room) {
		if evt.Type == event.StateMember && evt.GetStateKey() == newGhost.String() {
			t.Errorf("Bob['s ghost under ascii came into the PM room: %s", evt.Content.AsMember().Membership)
		}
	}
}
