package irc

import (
	"testing"

	"gopkg.in/irc.v4"

	"github.com/ferrybridge/ferry/internal/testbed"
)

// TestE2ERelayBotRenamedByTheServer (slow): the relay bot relays dave's
// line to #relay and at once an oper renames it (SANICK, as services'
// SVSNICK do), while alice's connection is behind (a proxy holds what the
// server sends it): alice reads the bot's line only after the bot became
// relay2. The line came from Matrix and is in the room already, so it
// must not come again from a ghost of ferry-relay: the bot's old nick
// lingers as Ferry's, as a login's does when it changes nick.
func TestE2ERelayBotRenamedByTheServer(t *testing.T) {
	var proxy *holdProxy
	e := startEnvVia(t, testbed.InspIRCdOptions{
		OperName: "admin", OperPassword: "operpw", ExtraConfig: `<module name="sanick">` + "\n",
	}, "", func(addr string) string {
		proxy = newHoldProxy(t, addr)
		// Without labeled-response the core cannot tell the late line
		// for the one it sent (see testLateLinesOfLogin).
		proxy.rewrite = withoutCap("labeled-response")
		return proxy.addr
	})
	r := e.relayingTo(t, "#relay", "")
	alice, dave, room, bob := r.alice, r.dave, r.room, r.bob
	dave.SendText(t, room, "relayed")
	bob.expect("the relayed line", isCmd("PRIVMSG", "ferry-relay"), nil)
	oper := e.peer("oper")
	oper.send("OPER", "admin", "operpw")
	oper.expect("the oper's 381", func(m *irc.Message) bool { return m.Command == "381" }, nil)

	proxy.hold("alice")
	dave.SendText(t, room, "said just before the rename")
	bob.expect("the bot's line", isCmd("PRIVMSG", "ferry-relay"), nil)
	oper.send("SANICK", "ferry-relay", "relay2")
	waitFor(t, "the relay bot to be relay2", func() bool { return e.c.relayNick("test") == "relay2" })
	proxy.release("alice")

	// bob's line comes after the bot's in alice's stream: once it is in
	// the room, alice has handled the bot's.
	bob.send("PRIVMSG", "#relay", "after")
	alice.WaitForEvent(t, room, waitLong, bodyFrom(e.ghost("bob"), "after"))
	for _, nick := range []string{"ferry-relay", "relay2"} {
		ghost := e.ghost(nick)
		for _, evt := range alice.Events(room) {
			if evt.Sender == ghost || evt.GetStateKey() == ghost.String() {
				t.Errorf("the relay bot was bridged as the ghost of %s: %s %v", nick, evt.Type.Type, evt.Content.Raw)
			}
		}
	}
}
