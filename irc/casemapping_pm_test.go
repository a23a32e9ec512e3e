package irc

import (
	"strings"
	"sync/atomic"
	"testing"

	"maunium.net/go/mautrix/event"

	"github.com/ferrybridge/ferry/internal/testbed"
	"github.com/ferrybridge/ferry/irc/ircconn"
)

// TestE2ECaseMappingChangeKeepsPMRooms (slow): Bob[ writes to alice while
// the network folds rfc1459 (DM chat ID "test/bob{"); InspIRCd restarts
// announcing CASEMAPPING=ascii (a proxy rewrites its 005). His next PM
// reaches the same room, which moved to "test/bob[", and alice's answer
// there reaches him.
func TestE2ECaseMappingChangeKeepsPMRooms(t *testing.T) {
	shortBackoff(t)
	var ascii atomic.Bool
	e := startEnvVia(t, testbed.InspIRCdOptions{}, "", func(addr string) string {
		p := newHoldProxy(t, addr)
		p.rewrite = func(line string) string {
			if ascii.Load() && strings.Contains(line, " 005 ") {
				return strings.Replace(line, "CASEMAPPING=rfc1459", "CASEMAPPING=ascii", 1)
			}
			return line
		}
		return p.addr
	})
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
	alice.WaitForEvent(t, room, waitLong, func(evt *event.Event) bool {
		msg := evt.Content.AsMessage()
		return evt.Type == event.EventMessage && msg != nil && msg.Body == "after the change"
	})
	alice.SendText(t, room, "still you?")
	if m := bob.expect("alice's answer", isCmd("PRIVMSG", "alice"), nil); m.Param(1) != "still you?" {
		t.Errorf("Bob[ got %v", m)
	}
	cl.lock.Lock()
	peer, ok := cl.meta.PMs["bob["]
	cl.lock.Unlock()
	if !ok || peer.Nick != "Bob[" {
		t.Errorf("the PM peer after the change: %+v (found %v)", peer, ok)
	}
}
