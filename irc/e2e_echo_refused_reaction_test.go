package irc

import (
	"testing"
	"time"

	"maunium.net/go/mautrix/event"

	"github.com/ferrybridge/ferry/internal/testbed"
)

// TestE2EEchoAfterARefusedReaction: on a server with echo-message but no
// labeled-response, the server refuses alice's reaction (#ferry is +m)
// and, once she may speak, echoes her message. Read in one go (alice's
// reader is held up meanwhile), the 404 is the reaction's answer, not
// the message's: the message takes its echo's msgid, and bob's reaction
// to the line he saw reaches it.
func TestE2EEchoAfterARefusedReaction(t *testing.T) {
	var proxy *holdProxy
	e := startEnvVia(t, testbed.InspIRCdOptions{WithoutModules: []string{"ircv3_labeledresponse"}}, "", func(addr string) string {
		proxy = newHoldProxy(t, addr)
		return proxy.addr
	})
	ctx := e.h.Context(2 * time.Minute)
	bob, alice, _, _, room, bobGhost := bobAndAliceInFerry(t, e)
	bob.send("PRIVMSG", "#ferry", "react to me")
	bobEvt := alice.WaitForEvent(t, room, waitLong, bodyFrom(bobGhost, "react to me"))
	bob.send("MODE", "#ferry", "+m")
	bob.expect("his MODE", isCmd("MODE", "bob"), nil)
	time.Sleep(500 * time.Millisecond) // alice has read it

	proxy.hold("alice")
	if _, err := alice.SendMessageEvent(ctx, room, event.EventReaction, &event.ReactionEventContent{
		RelatesTo: event.RelatesTo{Type: event.RelAnnotation, EventID: bobEvt.ID, Key: "👍"},
	}); err != nil {
		t.Fatal(err)
	}
	time.Sleep(time.Second) // refused by the server, unread by alice
	bob.send("MODE", "#ferry", "+v", "alice")
	bob.expect("his MODE +v", isCmd("MODE", "bob"), nil)
	sent := alice.SendText(t, room, "after the reaction")
	am := bob.aliceLineWithMsgid()
	proxy.release("alice")
	bobsReactionReaches(t, bob, am, alice, room, bobGhost, sent)
}
