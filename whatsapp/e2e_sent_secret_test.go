package whatsapp

import (
	"bytes"
	"testing"

	"go.mau.fi/whatsmeow/proto/waE2E"
	"google.golang.org/protobuf/proto"
	"maunium.net/go/mautrix/event"
)

// TestSimMatrixMessageCarriesASecret: a message Alice sends from Matrix
// reaches Bob with a message secret, as WhatsApp apps' messages do, so
// that edits, reactions and votes on it can be encrypted with it. Alice
// then edits it on her phone the way current apps do, encrypted with
// that secret; Ferry reads the edit and shows it, as her ghost's "* "
// reply to her Matrix message (a replacement from her ghost would be
// ignored by clients, see portals' remote_edit_matrix_sent.go).
func TestSimMatrixMessageCarriesASecret(t *testing.T) {
	s, ctx := newBobChat(t)
	if _, err := s.bob.cli.SendMessage(ctx, s.aliceJID, &waE2E.Message{Conversation: proto.String("hi")}); err != nil {
		t.Fatal(err)
	}
	room := joinPortal(t, s.alice, s.mgmt)
	s.alice.WaitForEvent(t, room, simWait, saysText(s.ghost, "hi"))
	desk := linkDevice(t, s.sim, s.alicePhone)
	bobJID := s.bob.phone.JID()

	sent := s.alice.SendText(t, room, "see yuo")
	got := nextMessage(t, s.bob)
	if text := got.Message.GetConversation() + got.Message.GetExtendedTextMessage().GetText(); text != "see yuo" {
		t.Fatalf("Bob got %v", got.Message)
	}
	secret := got.Message.GetMessageContextInfo().GetMessageSecret()
	if len(secret) != 32 {
		t.Errorf("Alice's message reached Bob with a %d-byte message secret, want 32", len(secret))
		secret = bytes.Repeat([]byte{0x33}, 32) // the phone's guess: Ferry cannot read it
	}

	edit := secretEdit(t, secret, bobJID, editSender(desk), got.Info.ID, &waE2E.Message{Conversation: proto.String("see you")})
	if _, err := desk.cli.SendMessage(ctx, bobJID, edit); err != nil {
		t.Fatal(err)
	}
	aliceGhost := ghostOf(s.alicePhone.JID().User)
	shown := s.alice.WaitForEvent(t, room, simWait, func(evt *event.Event) bool {
		msg := evt.Content.AsMessage()
		return evt.Sender == aliceGhost && msg != nil && msg.RelatesTo.GetReplyTo() == sent
	})
	if body := shown.Content.AsMessage().Body; body != "* see you" {
		t.Errorf("the edit shows as %q, want %q", body, "* see you")
	}
}
