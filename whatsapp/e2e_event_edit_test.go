package whatsapp

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"go.mau.fi/whatsmeow"
	"go.mau.fi/whatsmeow/proto/waE2E"
	"go.mau.fi/whatsmeow/types"
	"google.golang.org/protobuf/proto"
	"maunium.net/go/mautrix/event"
)

// secretEventEdit builds the SecretEncryptedMessage a current WhatsApp
// client sends for an edit (or the cancellation) of its own event origID
// in a chat with peer: payload encrypted as whatsmeow's
// generateMsgSecretKey derives the key for "Event Edit" (no additional
// data), like secretEdit for message edits.
func secretEventEdit(t *testing.T, secret []byte, peer, sender types.JID, origID types.MessageID, payload *waE2E.Message) *waE2E.Message {
	t.Helper()
	return secretEncrypted(t, secret, peer, sender, origID, payload, whatsmeow.EncSecretEventEdit, waE2E.SecretEncryptedMessage_EVENT_EDIT)
}

// TestSimEventEditAndCancellation: Bob invites Alice to an event, moves
// it to another time and then cancels it, as current WhatsApp clients
// do, each change a secret-encrypted EVENT_EDIT carrying the whole new
// event. The room shows the invitation as text, then each change as an
// edit of that text from Bob's ghost: the new time, then "Cancelled
// event:" without the hint to answer.
func TestSimEventEditAndCancellation(t *testing.T) {
	s, ctx := newBobChat(t)
	bob, aliceJID, bobJID, ghost := s.bob, s.aliceJID, s.bobJID, s.ghost

	start := time.Date(2026, 12, 5, 9, 30, 0, 0, time.UTC)
	invitation := func(start time.Time, cancelled bool) *waE2E.EventMessage {
		return &waE2E.EventMessage{
			Name:       proto.String("Climbing"),
			StartTime:  proto.Int64(start.Unix()),
			IsCanceled: proto.Bool(cancelled),
		}
	}
	secret := bytes.Repeat([]byte{0x6b}, 32)
	first, err := bob.cli.SendMessage(ctx, aliceJID, &waE2E.Message{
		EventMessage:       invitation(start, false),
		MessageContextInfo: &waE2E.MessageContextInfo{MessageSecret: secret},
	})
	if err != nil {
		t.Fatal(err)
	}
	room := joinPortal(t, s.alice, s.mgmt)
	firstEvt := s.alice.WaitForEvent(t, room, simWait,
		saysText(ghost, "Event: Climbing\nStarts: 2026-12-05T09:30:00Z\nOpen WhatsApp to answer."))

	moved := secretEventEdit(t, secret, aliceJID, bobJID, first.ID, &waE2E.Message{EventMessage: invitation(start.Add(24*time.Hour), false)})
	if _, err = bob.cli.SendMessage(ctx, aliceJID, moved); err != nil {
		t.Fatal(err)
	}
	s.alice.WaitForEvent(t, room, simWait, isReplacement(ghost, firstEvt.ID,
		"Event: Climbing\nStarts: 2026-12-06T09:30:00Z\nOpen WhatsApp to answer."))

	cancelled := secretEventEdit(t, secret, aliceJID, bobJID, first.ID, &waE2E.Message{EventMessage: invitation(start.Add(24*time.Hour), true)})
	if _, err = bob.cli.SendMessage(ctx, aliceJID, cancelled); err != nil {
		t.Fatal(err)
	}
	s.alice.WaitForEvent(t, room, simWait, isReplacement(ghost, firstEvt.ID,
		"Cancelled event: Climbing\nStarts: 2026-12-06T09:30:00Z"))

	for _, evt := range s.alice.Events(room) {
		if msg := evt.Content.AsMessage(); msg != nil && (strings.Contains(msg.Body, "Unsupported") || msg.MsgType == event.MsgNotice) {
			t.Errorf("the room shows %q", msg.Body)
		}
	}
}
