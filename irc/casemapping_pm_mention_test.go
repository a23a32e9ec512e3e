package irc

import (
	"strings"
	"testing"

	"maunium.net/go/mautrix/event"

	"github.com/ferrybridge/ferry/irc/ircconn"
)

// TestE2ECaseMappingChangePMSelfMentionPillsKeptGhost (slow): Bob[ writes
// to alice under rfc1459, InspIRCd restarts announcing ascii (as in
// TestE2ECaseMappingChangeKeepsPMRooms), and Bob[ then writes his own
// nick in the PM. His line comes from the ghost already in the room (his
// ID under rfc1459), and the pill of his nick names that same ghost: not
// his ghost under ascii, who is not in the room.
func TestE2ECaseMappingChangePMSelfMentionPillsKeptGhost(t *testing.T) {
	shortBackoff(t)
	e, ascii := startCaseMappingFlipEnv(t)
	alice, mgmt, cl := e.loggedInAlice()
	bob := e.peer("Bob[")
	bob.send("PRIVMSG", "alice", "before the change")
	room := portalInvite(t, alice, mgmt)
	alice.Join(t, room.String())
	oldGhost := e.ghost("Bob[")
	alice.WaitForEvent(t, room, waitLong, bodyFrom(oldGhost, "before the change"))

	ascii.Store(true)
	e.srv.Restart(t)
	waitFor(t, "alice to reconnect under ascii", func() bool {
		conn := cl.currentConn()
		return conn != nil && conn.ISupport().CaseMapping == ircconn.CaseMappingASCII
	})
	bob = e.peer("Bob[")
	bob.send("PRIVMSG", "alice", "Bob[ is still me")
	evt := alice.WaitForEvent(t, room, waitLong, bodyFrom(oldGhost, "Bob[ is still me"))
	msg := evt.Content.AsMessage()
	want := oldGhost.URI().MatrixToURL()
	if !strings.Contains(msg.FormattedBody, want) {
		t.Errorf("Bob['s own nick pills someone else: %q, want a link to %s", msg.FormattedBody, want)
	}
	if msg.Mentions == nil || len(msg.Mentions.UserIDs) != 1 || msg.Mentions.UserIDs[0] != oldGhost {
		t.Errorf("the line mentions %+v, want only %s", msg.Mentions, oldGhost)
	}
	for _, evt := range alice.Events(room) {
		if evt.Type == event.StateMember && evt.GetStateKey() != oldGhost.String() &&
			evt.GetStateKey() != alice.UserID.String() && strings.Contains(evt.GetStateKey(), "bob") {
			t.Errorf("another ghost of Bob[ in the PM room: %s %s", evt.GetStateKey(), evt.Content.AsMember().Membership)
		}
	}
}
