package irc

import (
	"strings"
	"testing"

	"gopkg.in/irc.v4"
	"maunium.net/go/mautrix/event"

	"github.com/ferrybridge/ferry/internal/testbed"
)

// TestE2ECommands (slow): irc nick (the login's name follows, no ghost for
// the old nick), irc whois, irc networks, and irc raw: refused for
// non-admins, injection-proof for admins.
func TestE2ECommands(t *testing.T) {
	e := startEnv(t, testbed.InspIRCdOptions{})
	bob := e.peer("bob")
	bob.send("JOIN", "#cmds")
	bob.expect("his JOIN", isCmd("JOIN", "bob"), nil)
	alice, mgmt, cl := e.loggedInAlice()
	room := e.joinChannel(alice, mgmt, "#cmds")
	alice.WaitForMembership(t, room, e.ghost("bob"), event.MembershipJoin, waitLong)

	e.h.Command(alice, mgmt, "irc nick test alice2", "You are now alice2 on test")
	bob.expect("alice's NICK", func(m *irc.Message) bool { return isCmd("NICK", "alice")(m) && m.Param(0) == "alice2" }, nil)
	e.h.Command(alice, mgmt, "status", "alice2 on test")
	waitFor(t, "the login to follow the nick", func() bool {
		cl.lock.Lock()
		defer cl.lock.Unlock()
		return cl.login.RemoteUser == "test/alice2" && cl.meta.Nick == "alice2"
	})
	bob.send("PRIVMSG", "#cmds", "alice2: renamed")
	got := alice.WaitForEvent(t, room, waitLong, bodyFrom(e.ghost("bob"), "alice2: renamed")).Content.AsMessage()
	if got.Mentions == nil || len(got.Mentions.UserIDs) != 1 || got.Mentions.UserIDs[0] != alice.UserID {
		t.Errorf("the new nick did not mention alice: %+v", got.Mentions)
	}
	for _, evt := range alice.Events(room) {
		if evt.Sender == e.ghost("alice") || evt.Sender == e.ghost("alice2") || evt.GetStateKey() == e.ghost("alice").String() || evt.GetStateKey() == e.ghost("alice2").String() {
			t.Errorf("a ghost of alice's own nick appeared: %s %v", evt.Type, evt.Content.Raw)
		}
	}

	e.h.Command(alice, mgmt, "irc nick test bob", "the nick bob is in use")
	e.h.Command(alice, mgmt, "irc nick test alice2", "You are alice2 on test already")
	e.h.Command(alice, mgmt, "irc whois test bob", "WHOIS bob")
	e.h.Command(alice, mgmt, "irc networks", "connected as alice2")
	e.h.Command(alice, mgmt, "irc raw test PRIVMSG bob :hi", "needs `admin` permission")

	admin := e.h.User("admin")
	amgmt := e.h.ManagementRoom(admin)
	acl := e.login(admin, amgmt, "root")
	e.h.Command(admin, amgmt, "irc raw test PRIVMSG bob :hi\r\nQUIT :bye", "line break")
	e.h.Command(admin, amgmt, "irc raw test PRIVMSG bob :raw hello", "Sent.")
	m := bob.expect("the raw PRIVMSG", isCmd("PRIVMSG", "root"), func(m *irc.Message) {
		if m.Prefix != nil && strings.EqualFold(m.Prefix.Name, "root") {
			t.Errorf("bob got %v from root", m)
		}
	})
	if m.Param(1) != "raw hello" {
		t.Errorf("raw line arrived as %v", m)
	}
	if acl.currentConn() == nil {
		t.Errorf("the admin's connection dropped")
	}
}
