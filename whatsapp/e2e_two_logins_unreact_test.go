package whatsapp

import (
	"testing"
	"time"

	"go.mau.fi/whatsmeow/proto/waE2E"
	"google.golang.org/protobuf/proto"
	"maunium.net/go/mautrix/event"
)

// TestSimReactionFromMatrixTakenBackOnAnotherDevice: Alice and Dave both
// use Ferry, in Bob's group. Alice reacts to Bob's message from Matrix,
// then takes the reaction back on her WhatsApp Desktop. The core takes a
// reaction sent from Matrix back only for a removal her own account made
// (FromMe), handed over through her login: Dave's login hands it over as
// any member's, hers as her own, and her reaction goes from the room,
// with no notice of anything not bridged.
func TestSimReactionFromMatrixTakenBackOnAnotherDevice(t *testing.T) {
	s, ctx := newSharedGroup(t, 3*time.Minute, "Climbing", "Saturday at ten?")
	room, bob := s.room, s.bob
	desk := linkDevice(t, s.sim, s.alicePhone)

	sent, err := bob.cli.SendMessage(ctx, s.group.JID, &waE2E.Message{Conversation: proto.String("who brings the rope?")})
	if err != nil {
		t.Fatal(err)
	}
	target := s.alice.WaitForEvent(t, room, simWait, saysText(s.bobGhost, "who brings the rope?"))
	if _, err = s.alice.SendReaction(ctx, room, target.ID, "🙋"); err != nil {
		t.Fatal(err)
	}
	if got := nextMessage(t, bob); got.Message.GetReactionMessage().GetText() != "🙋" {
		t.Fatalf("Bob got %v, want Alice's reaction", got.Message)
	}
	reaction := s.alice.WaitForEvent(t, room, simWait, func(evt *event.Event) bool {
		return evt.Type == event.EventReaction && evt.Sender == s.alice.UserID
	})

	if _, err = desk.cli.SendMessage(ctx, s.group.JID, desk.cli.BuildReaction(s.group.JID, bob.phone.JID(), sent.ID, "")); err != nil {
		t.Fatal(err)
	}
	s.alice.WaitForEvent(t, room, simWait, func(evt *event.Event) bool {
		return evt.Type == event.EventRedaction && evt.Redacts == reaction.ID
	})

	// Both logins have handled the removal by the time Bob's next
	// message comes.
	if _, err = bob.cli.SendMessage(ctx, s.group.JID, &waE2E.Message{Conversation: proto.String("I do")}); err != nil {
		t.Fatal(err)
	}
	s.alice.WaitForEvent(t, room, simWait, saysText(s.bobGhost, "I do"))
	for _, evt := range s.alice.Events(room) {
		if evt.Type == event.EventMessage && evt.Sender != s.alice.UserID && evt.Sender != s.bobGhost {
			t.Errorf("an unexpected message: %s from %s: %q", evt.ID, evt.Sender, evt.Content.AsMessage().Body)
		}
	}
}
