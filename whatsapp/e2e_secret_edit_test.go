package whatsapp

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	"go.mau.fi/whatsmeow"
	"go.mau.fi/whatsmeow/proto/waCommon"
	"go.mau.fi/whatsmeow/proto/waE2E"
	"go.mau.fi/whatsmeow/types"
	"google.golang.org/protobuf/proto"
	"maunium.net/go/mautrix/event"
	"maunium.net/go/mautrix/id"

	"github.com/ferrybridge/ferry/whatsapp/wasim"
)

// secretEdit builds the SecretEncryptedMessage a current WhatsApp client
// sends for an edit of its own message origID in a chat with peer: the
// payload encrypted with a key derived from the original's message
// secret, the edited message's ID and both senders, as whatsmeow's
// generateMsgSecretKey derives it (no additional data for edits).
func secretEdit(t *testing.T, secret []byte, peer, sender types.JID, origID types.MessageID, payload *waE2E.Message) *waE2E.Message {
	t.Helper()
	return secretEncrypted(t, secret, peer, sender, origID, payload, whatsmeow.EncSecretMessageEdit, waE2E.SecretEncryptedMessage_MESSAGE_EDIT)
}

// editSender is the JID the contact's edits are keyed with: its LID, as
// the simulator addresses messages by LID, as WhatsApp does today.
func editSender(c *contact) types.JID {
	if lid := c.cli.Store.GetLID(); !lid.IsEmpty() {
		return lid
	}
	return c.cli.Store.GetJID()
}

// isReplacement matches sender's edit of target to body.
func isReplacement(sender id.UserID, target id.EventID, body string) func(*event.Event) bool {
	return func(evt *event.Event) bool {
		msg := evt.Content.AsMessage()
		return evt.Sender == sender && msg != nil && msg.NewContent != nil && msg.NewContent.Body == body &&
			msg.RelatesTo.GetReplaceID() == target
	}
}

// bobChat is a simScene with Bob as a contact of Alice's: aliceJID and
// bobJID are what his edits in their chat are keyed with, ghost is his
// ghost.
type bobChat struct {
	*simScene
	bob              *contact
	aliceJID, bobJID types.JID
	ghost            id.UserID
}

// newBobChat sets up a bobChat; ctx, ending after two minutes, is for the
// rest of the test.
func newBobChat(t *testing.T) (*bobChat, context.Context) {
	t.Helper()
	c := &bobChat{simScene: newSimScene(t)}
	c.bob = newContact(t, c.sim, "4915100000002", "Bob")
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	t.Cleanup(cancel)
	c.aliceJID, c.bobJID = c.alicePhone.JID(), editSender(c.bob)
	c.ghost = ghostOf(c.bob.phone.JID().User)
	return c, ctx
}

// TestSimSecretEncryptedEdit: Bob edits his message as current WhatsApp
// clients do, with a SecretEncryptedMessage keyed by the original's
// message secret. Ferry's whatsmeow decrypts it and the room shows the
// edit, whether the plaintext is the new content itself or a protocol
// message edit wrapping it; nothing in the room says "Unsupported".
func TestSimSecretEncryptedEdit(t *testing.T) {
	s, ctx := newBobChat(t)
	bob, aliceJID, bobJID, ghost := s.bob, s.aliceJID, s.bobJID, s.ghost

	secret := bytes.Repeat([]byte{0x5a}, 32)
	first, err := bob.cli.SendMessage(ctx, aliceJID, &waE2E.Message{
		Conversation:       proto.String("helo"),
		MessageContextInfo: &waE2E.MessageContextInfo{MessageSecret: secret},
	})
	if err != nil {
		t.Fatal(err)
	}
	room := joinPortal(t, s.alice, s.mgmt)
	firstEvt := s.alice.WaitForEvent(t, room, simWait, saysText(ghost, "helo"))

	// The new content itself.
	edit := secretEdit(t, secret, aliceJID, bobJID, first.ID, &waE2E.Message{Conversation: proto.String("hello")})
	if _, err = bob.cli.SendMessage(ctx, aliceJID, edit); err != nil {
		t.Fatal(err)
	}
	s.alice.WaitForEvent(t, room, simWait, isReplacement(ghost, firstEvt.ID, "hello"))

	// A protocol message edit around it.
	edit = secretEdit(t, secret, aliceJID, bobJID, first.ID, &waE2E.Message{ProtocolMessage: &waE2E.ProtocolMessage{
		Type:          waE2E.ProtocolMessage_MESSAGE_EDIT.Enum(),
		Key:           &waCommon.MessageKey{RemoteJID: proto.String(aliceJID.String()), FromMe: proto.Bool(true), ID: proto.String(first.ID)},
		EditedMessage: &waE2E.Message{Conversation: proto.String("hello there")},
	}})
	if _, err = bob.cli.SendMessage(ctx, aliceJID, edit); err != nil {
		t.Fatal(err)
	}
	s.alice.WaitForEvent(t, room, simWait, isReplacement(ghost, firstEvt.ID, "hello there"))

	for _, evt := range s.alice.Events(room) {
		if msg := evt.Content.AsMessage(); msg != nil && strings.Contains(msg.Body, "Unsupported") {
			t.Errorf("the room shows %q", msg.Body)
		}
	}
}

// TestSimSecretEncryptedEditUnreadable: an edit encrypted with a secret
// Ferry never saw (its message predates the link) cannot be read; the
// room says so with a notice, instead of "Unsupported" or nothing.
func TestSimSecretEncryptedEditUnreadable(t *testing.T) {
	s, ctx := newBobChat(t)
	bob, aliceJID, bobJID, ghost := s.bob, s.aliceJID, s.bobJID, s.ghost

	if _, err := bob.cli.SendMessage(ctx, aliceJID, &waE2E.Message{Conversation: proto.String("hi")}); err != nil {
		t.Fatal(err)
	}
	room := joinPortal(t, s.alice, s.mgmt)
	s.alice.WaitForEvent(t, room, simWait, saysText(ghost, "hi"))

	edit := secretEdit(t, bytes.Repeat([]byte{1}, 32), aliceJID, bobJID, "3EB0OLDERTHANTHELINK", &waE2E.Message{Conversation: proto.String("secret")})
	if _, err := bob.cli.SendMessage(ctx, aliceJID, edit); err != nil {
		t.Fatal(err)
	}
	notice := s.alice.WaitForEvent(t, room, simWait, func(evt *event.Event) bool {
		msg := evt.Content.AsMessage()
		return evt.Sender == ghost && msg != nil && msg.MsgType == event.MsgNotice
	})
	if body := notice.Content.AsMessage().Body; body != secretEditUnreadableText {
		t.Errorf("the notice says %q, want %q", body, secretEditUnreadableText)
	}
}

// linkDevice links a further whatsmeow client to phone, as a user's
// WhatsApp Desktop beside Ferry, and connects it.
func linkDevice(t *testing.T, sim *wasim.Sim, phone *wasim.Phone) *contact {
	t.Helper()
	return linkClient(t, sim, phone, "device")
}

// TestSimSecretEncryptedEditFromMe: the user edits, on another device of
// theirs, a message they sent from it; Ferry's device gets the edit as
// one of its own account's and shows it in the room.
func TestSimSecretEncryptedEditFromMe(t *testing.T) {
	s := newSimScene(t)
	bob := newContact(t, s.sim, "4915100000002", "Bob")
	desk := linkDevice(t, s.sim, s.alicePhone)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	bobJID := bob.phone.JID()

	if _, err := bob.cli.SendMessage(ctx, s.alicePhone.JID(), &waE2E.Message{Conversation: proto.String("hi")}); err != nil {
		t.Fatal(err)
	}
	room := joinPortal(t, s.alice, s.mgmt)
	s.alice.WaitForEvent(t, room, simWait, saysText(ghostOf(bobJID.User), "hi"))

	secret := bytes.Repeat([]byte{0x33}, 32)
	first, err := desk.cli.SendMessage(ctx, bobJID, &waE2E.Message{
		Conversation:       proto.String("see yuo"),
		MessageContextInfo: &waE2E.MessageContextInfo{MessageSecret: secret},
	})
	if err != nil {
		t.Fatal(err)
	}
	firstEvt := s.alice.WaitForEvent(t, room, simWait, func(evt *event.Event) bool {
		msg := evt.Content.AsMessage()
		return evt.Type == event.EventMessage && msg != nil && msg.Body == "see yuo"
	})
	edit := secretEdit(t, secret, bobJID, editSender(desk), first.ID, &waE2E.Message{Conversation: proto.String("see you")})
	if _, err = desk.cli.SendMessage(ctx, bobJID, edit); err != nil {
		t.Fatal(err)
	}
	s.alice.WaitForEvent(t, room, simWait, isReplacement(firstEvt.Sender, firstEvt.ID, "see you"))
}
