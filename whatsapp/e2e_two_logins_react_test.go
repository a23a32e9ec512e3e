package whatsapp

import (
	"testing"
	"time"

	"go.mau.fi/whatsmeow/proto/waE2E"
	"google.golang.org/protobuf/proto"
	"maunium.net/go/mautrix/event"
)

// TestSimReactionAndDeletionFromMatrixSeenByAnotherLogin: Alice and Dave
// both use Ferry, in Bob's group. Alice's reactions to Bob's message (a
// removal among them) and her deletion of her own message, made in
// Matrix, reach Dave's login too, as any member's; the room shows each
// once, Alice's own: no reaction or redaction from her ghost, no notice
// of one that failed.
func TestSimReactionAndDeletionFromMatrixSeenByAnotherLogin(t *testing.T) {
	s, ctx := newSharedGroup(t, 3*time.Minute, "Climbing", "Saturday at ten?")
	room, bob := s.room, s.bob
	first := s.alice.WaitForEvent(t, room, simWait, saysText(s.bobGhost, "Saturday at ten?"))

	if _, err := s.alice.SendReaction(ctx, room, first.ID, "🎉"); err != nil {
		t.Fatal(err)
	}
	if got := nextMessage(t, bob); got.Message.GetReactionMessage().GetText() != "🎉" {
		t.Fatalf("Bob got %v, want Alice's reaction", got.Message)
	}
	// She takes it back.
	// Dendrite 0.13.8 never pushes redactions to appservices; deliver them
	// as Dendrite would (see TestSimDirectChatBothWays).
	reaction := s.alice.WaitForEvent(t, room, simWait, func(evt *event.Event) bool {
		return evt.Type == event.EventReaction && evt.Sender == s.alice.UserID
	})
	if _, err := s.alice.RedactEvent(ctx, room, reaction.ID); err != nil {
		t.Fatal(err)
	}
	s.h.PushEvents(map[string]any{
		"type": "m.room.redaction", "event_id": "$alice-unreacts", "room_id": room, "sender": s.alice.UserID,
		"redacts": reaction.ID, "origin_server_ts": time.Now().UnixMilli(), "content": map[string]any{"redacts": reaction.ID},
	})
	if got := nextMessage(t, bob); got.Message.GetReactionMessage() == nil || got.Message.GetReactionMessage().GetText() != "" {
		t.Fatalf("Bob got %v, want Alice's reaction removed", got.Message)
	}
	if _, err := s.alice.SendReaction(ctx, room, first.ID, "👍"); err != nil {
		t.Fatal(err)
	}
	if got := nextMessage(t, bob); got.Message.GetReactionMessage().GetText() != "👍" {
		t.Fatalf("Bob got %v, want Alice's reaction", got.Message)
	}

	sent := s.alice.SendText(t, room, "oops, wrong group")
	if got := nextMessage(t, bob); got.Message.GetConversation()+got.Message.GetExtendedTextMessage().GetText() != "oops, wrong group" {
		t.Fatalf("Bob got %v", got.Message)
	}
	if _, err := s.alice.RedactEvent(ctx, room, sent); err != nil {
		t.Fatal(err)
	}
	s.h.PushEvents(map[string]any{
		"type": "m.room.redaction", "event_id": "$alice-deletes", "room_id": room, "sender": s.alice.UserID,
		"redacts": sent, "origin_server_ts": time.Now().UnixMilli(), "content": map[string]any{"redacts": sent},
	})
	if got := nextMessage(t, bob); got.Message.GetProtocolMessage().GetType() != waE2E.ProtocolMessage_REVOKE {
		t.Fatalf("Bob got %v, want Alice's deletion", got.Message)
	}

	// Dave's login has both by the time Bob's next message comes.
	if _, err := bob.cli.SendMessage(ctx, s.group.JID, &waE2E.Message{Conversation: proto.String("see you there")}); err != nil {
		t.Fatal(err)
	}
	s.alice.WaitForEvent(t, room, simWait, saysText(s.bobGhost, "see you there"))
	time.Sleep(2 * time.Second)
	aliceGhost := ghostOf(s.alicePhone.JID().User)
	for _, evt := range s.alice.Events(room) {
		switch {
		case evt.Type == event.EventReaction && evt.Sender != s.alice.UserID:
			t.Errorf("the reaction shows again: %s from %s: %+v", evt.ID, evt.Sender, evt.Content.AsReaction().RelatesTo)
		case evt.Type == event.EventRedaction && evt.Sender == aliceGhost:
			t.Errorf("the deletion shows again: %s from %s redacts %s", evt.ID, evt.Sender, evt.Redacts)
		case evt.Type == event.EventMessage && evt.Sender != s.alice.UserID && evt.Sender != s.bobGhost:
			t.Errorf("an unexpected message: %s from %s: %q", evt.ID, evt.Sender, evt.Content.AsMessage().Body)
		}
	}
}
