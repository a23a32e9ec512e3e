package irc

import (
	"testing"
	"time"

	"github.com/ferrybridge/ferry/internal/testbed"
)

// TestE2ENickRegain (slow): the wanted nick is taken at connect; the login
// falls back and takes it once the holder quits. Then `irc nick` asks for
// a nick in use: it is taken once its holder (in no shared channel, so
// only the periodic retry can notice) changes away.
func TestE2ENickRegain(t *testing.T) {
	regainInterval.setForTest(t, 500*time.Millisecond)
	e := startEnv(t, testbed.InspIRCdOptions{})
	holder := e.peer("alice")
	holder.send("JOIN", "#regain")
	holder.expect("the holder's JOIN", isCmd("JOIN", "alice"), nil)

	alice, mgmt, cl := e.loggedInAlice()
	if n := cl.currentNick(); n == "alice" {
		t.Fatalf("connected as %s although the nick was taken", n)
	}
	e.h.Command(alice, mgmt, "irc join test #regain", "Joining #regain")
	waitFor(t, "alice to join #regain", func() bool { return cl.inChannel("#regain") })
	holder.send("QUIT", "bye")
	waitFor(t, "alice to regain her nick", func() bool { return cl.currentNick() == "alice" })
	e.h.Command(alice, mgmt, "status", "alice on test")

	carl := e.peer("carl")
	e.h.Command(alice, mgmt, "irc nick test carl", "is in use")
	time.Sleep(time.Second)
	if n := cl.currentNick(); n != "alice" {
		t.Fatalf("nick became %s while carl was taken", n)
	}
	carl.send("NICK", "carl2")
	waitFor(t, "alice to take carl", func() bool { return cl.currentNick() == "carl" })
}
