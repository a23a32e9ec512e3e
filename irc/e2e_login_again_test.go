package irc

import (
	"testing"

	"maunium.net/go/mautrix/event"

	"github.com/ferrybridge/ferry/internal/testbed"
)

// TestE2ELoginAgainKeepsTheLogin (slow): `login irc test <nick>` from a
// user logged in to test already (to change nick, or to "reconnect")
// stored a new login over the running one, without its channels and
// credentials: the connection it opened joined none of the user's
// channels. It is refused now, with the commands that do what the user
// meant, and the login goes on as it was.
func TestE2ELoginAgainKeepsTheLogin(t *testing.T) {
	e := startEnv(t, testbed.InspIRCdOptions{})
	bob := e.peer("bob")
	bob.send("JOIN", "#again")
	bob.expect("his JOIN", isCmd("JOIN", "bob"), nil)
	alice, mgmt, cl := e.loggedInAlice()
	room := e.joinChannel(alice, mgmt, "#again")
	alice.WaitForMembership(t, room, e.ghost("bob"), event.MembershipJoin, waitLong)

	e.h.Command(alice, mgmt, "login irc test alice2", "you are logged in to test already as alice on test")
	e.h.Command(alice, mgmt, "login irc TEST", "`irc nick test <nick>` changes your nick, `reconnect irc alice on test` connects again, and `logout irc alice on test` first starts over")

	e.c.lock.Lock()
	now := e.c.clients[cl.loginID]
	e.c.lock.Unlock()
	if now != cl {
		t.Errorf("another client runs the login now")
	}
	bob.send("PRIVMSG", "#again", "still here?")
	alice.WaitForEvent(t, room, waitLong, bodyFrom(e.ghost("bob"), "still here?"))
	e.h.Command(alice, mgmt, "status", "alice on test: connected")
}
