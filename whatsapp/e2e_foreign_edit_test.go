package whatsapp

import (
	"testing"

	"go.mau.fi/whatsmeow/proto/waE2E"
	"google.golang.org/protobuf/proto"
	"maunium.net/go/mautrix/event"
)

// TestSimEditOfAnotherMembersMessageIsSkipped: in Bob's group with Alice
// and Carol, Carol edits her own message, which the room shows; then Bob
// sends an "edit" of Carol's message. WhatsApp apps ignore an edit from
// anyone but the message's sender, and so must Ferry: the room shows no
// replacement, nor anything else, of Bob's.
func TestSimEditOfAnotherMembersMessageIsSkipped(t *testing.T) {
	s, bob, carol, group, ctx := newGroupWithCarol(t)
	room := joinPortal(t, s.alice, s.mgmt)
	bobGhost, carolGhost := ghostOf(bob.phone.JID().User), ghostOf(carol.phone.JID().User)
	s.alice.WaitForEvent(t, room, simWait, saysText(bobGhost, "Saturday at ten?"))

	said, err := carol.cli.SendMessage(ctx, group.JID, &waE2E.Message{Conversation: proto.String("yes, at 10")})
	if err != nil {
		t.Fatal(err)
	}
	carolEvt := s.alice.WaitForEvent(t, room, simWait, saysText(carolGhost, "yes, at 10"))
	send := func(c *contact, msg *waE2E.Message) {
		t.Helper()
		if _, err := c.cli.SendMessage(ctx, group.JID, msg); err != nil {
			t.Fatal(err)
		}
	}
	send(carol, carol.cli.BuildEdit(group.JID, said.ID, &waE2E.Message{Conversation: proto.String("yes, at 11")}))
	s.alice.WaitForEvent(t, room, simWait, isReplacement(carolGhost, carolEvt.ID, "yes, at 11"))

	send(bob, bob.cli.BuildEdit(group.JID, said.ID, &waE2E.Message{Conversation: proto.String("no, I can't")}))
	// Ferry has handled Bob's edit by the time his next message shows.
	send(bob, &waE2E.Message{Conversation: proto.String("see you")})
	s.alice.WaitForEvent(t, room, simWait, saysText(bobGhost, "see you"))
	for _, evt := range s.alice.Events(room) {
		if msg := evt.Content.AsMessage(); evt.Type == event.EventMessage && msg != nil && msg.RelatesTo != nil {
			if msg.RelatesTo.GetReplaceID() == carolEvt.ID && evt.Sender != carolGhost {
				t.Errorf("%s replaces Carol's message: %q", evt.Sender, msg.Body)
			}
			if evt.Sender == bobGhost {
				t.Errorf("Bob's edit shows: %s %q", evt.ID, msg.Body)
			}
		}
	}
}
