package irc

import (
	"testing"

	"gopkg.in/irc.v4"

	"github.com/ferrybridge/ferry/internal/testbed"
)

// TestE2EJoinRefusedIsTold (slow): `irc join` answers "Joining ...; you
// will be invited to its room" before the server has answered. A channel
// that refuses the JOIN (invite only, a wrong key) has no room to say so
// in; the user is told in the management room, with the server's reason.
func TestE2EJoinRefusedIsTold(t *testing.T) {
	e := startEnv(t, testbed.InspIRCdOptions{})
	bob := e.peer("bob")
	bob.send("JOIN", "#locked")
	bob.expect("his JOIN", isCmd("JOIN", "bob"), nil)
	bob.send("MODE", "#locked", "+i")
	bob.expect("the mode", func(m *irc.Message) bool { return m.Command == "MODE" }, nil)
	bob.send("JOIN", "#keyed")
	bob.expect("his JOIN", isCmd("JOIN", "bob"), nil)
	bob.send("MODE", "#keyed", "+k", "sesame")
	bob.expect("the mode", func(m *irc.Message) bool { return m.Command == "MODE" && m.Param(0) == "#keyed" }, nil)
	alice, mgmt, _ := e.loggedInAlice()

	e.h.Command(alice, mgmt, "irc join test #locked", "Joining #locked on test")
	e.h.WaitForBotNotice(alice, mgmt, "Could not join #locked on test: ")
	e.h.Command(alice, mgmt, "irc join test #keyed wrong", "Joining #keyed on test")
	e.h.WaitForBotNotice(alice, mgmt, "Send `irc join test #keyed <key>` with the channel's key.")
}

// TestE2EJoinRefusedByOperOnlyOrRedirectIsTold (slow): InspIRCd refuses
// a JOIN with numerics beyond the common ones: 520 for a channel only
// opers may join (operchans, +O), 470 for a full channel that redirects
// (redirect, +L), naming where it sends the user instead. Each answers
// `irc join`: the user is told in the management room, in the server's
// words, with 470's forward.
func TestE2EJoinRefusedByOperOnlyOrRedirectIsTold(t *testing.T) {
	e := startEnv(t, testbed.InspIRCdOptions{
		OperName: "admin", OperPassword: "operpw",
		ExtraConfig: `<module name="operchans">` + "\n" + `<module name="redirect">` + "\n",
	})
	bob := e.peer("bob")
	bob.send("OPER", "admin", "operpw")
	bob.expect("his 381", func(m *irc.Message) bool { return m.Command == "381" }, nil)
	bob.send("JOIN", "#opers")
	bob.expect("his JOIN", isCmd("JOIN", "bob"), nil)
	bob.send("MODE", "#opers", "+O")
	bob.expect("the mode", func(m *irc.Message) bool { return m.Command == "MODE" && m.Param(0) == "#opers" }, nil)
	bob.send("JOIN", "#overflow")
	bob.expect("his JOIN", isCmd("JOIN", "bob"), nil)
	bob.send("JOIN", "#full")
	bob.expect("his JOIN", isCmd("JOIN", "bob"), nil)
	bob.send("MODE", "#full", "+lL", "1", "#overflow")
	bob.expect("the mode", func(m *irc.Message) bool { return m.Command == "MODE" && m.Param(0) == "#full" }, nil)
	alice, mgmt, _ := e.loggedInAlice()

	e.h.Command(alice, mgmt, "irc join test #opers", "Joining #opers on test")
	e.h.WaitForBotNotice(alice, mgmt, "Only server operators may join")
	e.h.Command(alice, mgmt, "irc join test #full", "Joining #full on test")
	e.h.WaitForBotNotice(alice, mgmt, "(forwarded to #overflow)")
}
