package irc

import (
	"strings"
	"testing"
	"time"

	"gopkg.in/irc.v4"
	"maunium.net/go/mautrix"
	"maunium.net/go/mautrix/event"

	"github.com/ferrybridge/ferry/internal/testbed"
)

// TestE2EReactions (slow): reactions both ways as TAGMSG with
// +draft/react / +draft/unreact and +draft/reply=<msgid>.
func TestE2EReactions(t *testing.T) {
	e := startEnv(t, testbed.InspIRCdOptions{})
	ctx := e.h.Context(2 * time.Minute)
	bob := e.peer("bob")
	bob.send("JOIN", "#react")
	bob.expect("his JOIN", isCmd("JOIN", "bob"), nil)
	alice, mgmt, _ := e.loggedInAlice()
	room := e.joinChannel(alice, mgmt, "#react")
	bobGhost := e.ghost("bob")
	alice.WaitForMembership(t, room, bobGhost, event.MembershipJoin, waitLong)
	bob.expect("alice's JOIN", isCmd("JOIN", "alice"), nil)

	// Matrix -> IRC: alice reacts to bob's message, then takes it back.
	bob.send("PRIVMSG", "#react", "react to me")
	echo := bob.expect("his echo", func(m *irc.Message) bool { return isCmd("PRIVMSG", "bob")(m) && m.Param(1) == "react to me" }, nil)
	bobMsgID := echo.Tags["msgid"]
	if bobMsgID == "" {
		t.Fatalf("the server gave bob's message no msgid: %v", echo)
	}
	bobEvt := alice.WaitForEvent(t, room, waitLong, bodyFrom(bobGhost, "react to me"))
	resp, err := alice.SendMessageEvent(ctx, room, event.EventReaction, &event.ReactionEventContent{
		RelatesTo: event.RelatesTo{Type: event.RelAnnotation, EventID: bobEvt.ID, Key: "👍"},
	})
	if err != nil {
		t.Fatal(err)
	}
	m := bob.expect("alice's reaction", isCmd("TAGMSG", "alice"), nil)
	if m.Tags["+draft/react"] != "👍" || m.Tags["+draft/reply"] != bobMsgID || !strings.EqualFold(m.Param(0), "#react") {
		t.Errorf("the reaction arrived as %v", m)
	}
	// Dendrite does not push redactions to appservices: the redaction is
	// made for real and pushed as Synapse would.
	redaction, err := alice.RedactEvent(ctx, room, resp.EventID, mautrix.ReqRedact{})
	if err != nil {
		t.Fatal(err)
	}
	e.h.PushEvents(map[string]any{
		"type": "m.room.redaction", "event_id": redaction.EventID, "room_id": room, "sender": alice.UserID,
		"redacts": resp.EventID, "origin_server_ts": time.Now().UnixMilli(), "content": map[string]any{"redacts": resp.EventID},
	})
	m = bob.expect("alice's unreaction", isCmd("TAGMSG", "alice"), nil)
	if m.Tags["+draft/unreact"] != "👍" || m.Tags["+draft/reply"] != bobMsgID {
		t.Errorf("the removal arrived as %v", m)
	}

	// IRC -> Matrix: bob reacts to alice's message, then takes it back.
	aliceEvt := alice.SendText(t, room, "hi bob")
	am := bob.expect("alice's PRIVMSG", isCmd("PRIVMSG", "alice"), nil)
	aliceMsgID := am.Tags["msgid"]
	if aliceMsgID == "" {
		t.Fatalf("alice's message reached bob without msgid: %v", am)
	}
	react := func(tag string) {
		t.Helper()
		if err := bob.conn.Send(&irc.Message{Tags: irc.Tags{tag: "🎉", "+draft/reply": aliceMsgID}, Command: "TAGMSG", Params: []string{"#react"}}); err != nil {
			t.Fatal(err)
		}
	}
	react("+draft/react")
	reaction := alice.WaitForEvent(t, room, waitLong, func(evt *event.Event) bool {
		if evt.Sender != bobGhost || evt.Type != event.EventReaction {
			return false
		}
		rel := evt.Content.AsReaction().RelatesTo
		return rel.EventID == aliceEvt && rel.Key == "🎉"
	})
	react("+draft/unreact")
	alice.WaitForEvent(t, room, waitLong, func(evt *event.Event) bool {
		return evt.Type == event.EventRedaction && evt.Redacts == reaction.ID
	})
}
