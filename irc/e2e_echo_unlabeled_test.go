package irc

import (
	"testing"

	"gopkg.in/irc.v4"
	"maunium.net/go/mautrix/event"

	"github.com/ferrybridge/ferry/internal/testbed"
)

// TestE2EReactionToOwnLineWithoutLabels: on a server with echo-message
// and msgid but no labeled-response, an IRC person's reaction to a line
// a Matrix user sent reaches that message in Matrix: the echo's msgid
// names the Matrix message, as it does with labels.
func TestE2EReactionToOwnLineWithoutLabels(t *testing.T) {
	e := startEnv(t, testbed.InspIRCdOptions{WithoutModules: []string{"ircv3_labeledresponse"}})
	bob, alice, _, cl, room, bobGhost := bobAndAliceInFerry(t, e)
	if conn := cl.currentConn(); !conn.HasCap("echo-message") || conn.HasCap("labeled-response") {
		t.Fatalf("alice's caps are %q, want echo-message without labeled-response", conn.Caps())
	}
	aliceEvt := alice.SendText(t, room, "react to me")
	am := bob.expect("alice's PRIVMSG", isCmd("PRIVMSG", "alice"), nil)
	msgid := am.Tags["msgid"]
	if msgid == "" {
		t.Fatalf("alice's line reached bob without msgid: %v", am)
	}
	if err := bob.conn.Send(&irc.Message{Tags: irc.Tags{"+draft/react": "🎉", "+draft/reply": msgid}, Command: "TAGMSG", Params: []string{"#ferry"}}); err != nil {
		t.Fatal(err)
	}
	alice.WaitForEvent(t, room, waitLong, func(evt *event.Event) bool {
		if evt.Sender != bobGhost || evt.Type != event.EventReaction {
			return false
		}
		rel := evt.Content.AsReaction().RelatesTo
		return rel.EventID == aliceEvt && rel.Key == "🎉"
	})
}
