package irc

import (
	"strings"
	"testing"
	"time"

	"maunium.net/go/mautrix/event"

	"github.com/ferrybridge/ferry/internal/testbed"
)

// TestE2EEchoAfterARefusedLine: on a server with echo-message but no
// labeled-response, a line the server refused gets no echo: #ferry is +m
// (InspIRCd answers 404), or +M, for logged-in users only (InspIRCd's
// services_account answers 477 for the channel, as Hybrid and ratbox
// do). The same words sent again once alice may speak are echoed. Read
// in one go (alice's reader is held up meanwhile, so that the second
// message goes out while the first still waits for its echo), the echo's
// msgid names the second message, not the refused first one: an IRC
// person's reaction to the line they saw reaches the message they saw.
// The room is told of the refused one.
func TestE2EEchoAfterARefusedLine(t *testing.T) {
	for _, tc := range []struct {
		name, mode string
		allow      []string // bob's MODE that lets alice speak
	}{
		{"moderated", "+m", []string{"+v", "alice"}},
		{"logged-in users only", "+M", []string{"-M"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var proxy *holdProxy
			e := startEnvVia(t, testbed.InspIRCdOptions{WithoutModules: []string{"ircv3_labeledresponse"}}, "", func(addr string) string {
				proxy = newHoldProxy(t, addr)
				return proxy.addr
			})
			bob, alice, _, _, room, bobGhost := bobAndAliceInFerry(t, e)
			bob.send("MODE", "#ferry", tc.mode)
			bob.expect("his MODE", isCmd("MODE", "bob"), nil)
			time.Sleep(500 * time.Millisecond) // alice has read it

			proxy.hold("alice")
			alice.SendText(t, room, "the same words")
			time.Sleep(time.Second) // refused by the server, unread by alice
			bob.send("MODE", append([]string{"#ferry"}, tc.allow...)...)
			bob.expect("his MODE letting alice speak", isCmd("MODE", "bob"), nil)
			sent := alice.SendText(t, room, "the same words")
			am := bob.aliceLineWithMsgid()
			proxy.release("alice")
			alice.WaitForEvent(t, room, waitLong, func(evt *event.Event) bool {
				msg := evt.Content.AsMessage()
				return evt.Type == event.EventMessage && msg != nil && strings.Contains(msg.Body, "What alice sent to #ferry did not arrive")
			})
			bobsReactionReaches(t, bob, am, alice, room, bobGhost, sent)
		})
	}
}
