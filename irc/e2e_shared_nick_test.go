package irc

import (
	"strings"
	"testing"
	"time"

	"maunium.net/go/mautrix/event"

	"github.com/ferrybridge/ferry/internal/testbed"
)

// TestE2ESharedNickNotTaken (slow): the nick template gives alice and
// carol the same nick, ferryuser. alice has it; carol connects with the
// fallback, is told once why, and does not take it from alice, neither
// while alice has it nor when alice's connection ends and she comes back
// (before, carol took it at alice's QUIT, and they swapped it at every
// reconnect).
func TestE2ESharedNickNotTaken(t *testing.T) {
	regainInterval.setForTest(t, 300*time.Millisecond)
	e := startEnvWith(t, testbed.InspIRCdOptions{}, "    nick_template: ferryuser\n")
	alice, carol := e.h.User("alice"), e.h.User("carol")
	amgmt, cmgmt := e.h.ManagementRoom(alice), e.h.ManagementRoom(carol)
	acl := e.login(alice, amgmt, "")
	if n := acl.currentNick(); n != "ferryuser" {
		t.Fatalf("alice connected as %s", n)
	}
	ccl := e.login(carol, cmgmt, "")
	fallback := ccl.currentNick()
	if fallback == "ferryuser" {
		t.Fatalf("carol connected as ferryuser, which alice has")
	}
	told := "another Ferry user"
	e.h.WaitForBotNotice(carol, cmgmt, told)
	// A shared channel, where carol sees alice's QUIT.
	e.h.Command(alice, amgmt, "irc join test #same", "Joining #same")
	e.h.Command(carol, cmgmt, "irc join test #same", "Joining #same")
	waitFor(t, "both to be in #same", func() bool { return acl.inChannel("#same") && ccl.inChannel("#same") })

	acl.Disconnect()
	time.Sleep(5 * regainInterval.get()) // carol's chances to take it
	if n := ccl.currentNick(); n != fallback {
		t.Fatalf("carol became %s while alice was away", n)
	}
	acl.Connect(e.h.Context(time.Minute))
	waitFor(t, "alice to be back", func() bool { return acl.currentNick() != "" })
	if n := acl.currentNick(); n != "ferryuser" {
		t.Errorf("alice came back as %s", n)
	}
	time.Sleep(5 * regainInterval.get())
	if n := ccl.currentNick(); n != fallback {
		t.Errorf("carol became %s", n)
	}
	notices := 0
	for _, evt := range carol.Events(cmgmt) {
		if msg := evt.Content.AsMessage(); evt.Type == event.EventMessage && msg != nil && strings.Contains(msg.Body, told) {
			notices++
		}
	}
	if notices != 1 {
		t.Errorf("carol was told %d times why she is %s", notices, fallback)
	}
	// Asked for by command, the server refuses it; carol is told she will
	// not get it while alice has it, not that Ferry keeps asking.
	e.h.Command(carol, cmgmt, "irc nick test ferryuser", "another Ferry user's")
	if n := ccl.currentNick(); n != fallback {
		t.Errorf("carol became %s", n)
	}
}
