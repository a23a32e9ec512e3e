package wasim

import (
	"testing"
	"time"

	"go.mau.fi/whatsmeow/proto/waE2E"
	"go.mau.fi/whatsmeow/types"
	"go.mau.fi/whatsmeow/types/events"
	"google.golang.org/protobuf/proto"
)

// TestTextMessageBetweenTwoAccounts: client A sends a text to B's phone
// number. whatsmeow resolves B's LID through usync, fetches B's prekey
// bundle and Signal-encrypts; the simulator only routes the ciphertext.
// B decrypts the right text from A's LID (with A's phone number as the
// alternate sender), and B's delivery receipt reaches A.
func TestTextMessageBetweenTwoAccounts(t *testing.T) {
	e := newEnv(t)
	alicePhone, bobPhone, alice, bob := e.aliceAndBob()

	resp, err := alice.cli.SendMessage(t.Context(), bobPhone.JID(), &waE2E.Message{Conversation: proto.String("hello bob")})
	if err != nil {
		t.Fatalf("send: %v", err)
	}
	if resp.Timestamp.IsZero() {
		t.Error("send response has no server timestamp")
	}

	msg := waitFor[*events.Message](t, bob, 10*time.Second)
	if got := msg.Message.GetConversation(); got != "hello bob" {
		t.Errorf("Bob got text %q", got)
	}
	if msg.Info.ID != resp.ID {
		t.Errorf("message ID = %s, want %s", msg.Info.ID, resp.ID)
	}
	if msg.Info.Sender.ToNonAD() != alicePhone.LID() {
		t.Errorf("sender = %s, want Alice's LID %s", msg.Info.Sender, alicePhone.LID())
	}
	if msg.Info.SenderAlt.ToNonAD() != alicePhone.JID() {
		t.Errorf("sender alt = %s, want Alice's number %s", msg.Info.SenderAlt, alicePhone.JID())
	}
	if msg.Info.Chat != alicePhone.LID() || msg.Info.IsFromMe {
		t.Errorf("chat = %s (from me %v), want Alice's LID chat", msg.Info.Chat, msg.Info.IsFromMe)
	}
	if msg.Info.PushName != "Alice" {
		t.Errorf("push name = %q", msg.Info.PushName)
	}

	rcpt := waitFor[*events.Receipt](t, alice, 10*time.Second)
	if rcpt.Type != types.ReceiptTypeDelivered {
		t.Errorf("receipt type = %q, want delivered", rcpt.Type)
	}
	if len(rcpt.MessageIDs) != 1 || rcpt.MessageIDs[0] != resp.ID {
		t.Errorf("receipt IDs = %v, want [%s]", rcpt.MessageIDs, resp.ID)
	}
	if rcpt.Sender.ToNonAD() != bobPhone.LID() {
		t.Errorf("receipt from %s, want Bob's LID %s", rcpt.Sender, bobPhone.LID())
	}
}

// TestEditReactionRevokeReachRecipient: edits, reactions and revokes are
// ordinary encrypted messages to the simulator (the edit attribute is
// passed on); the recipient sees each as what it is.
func TestEditReactionRevokeReachRecipient(t *testing.T) {
	e := newEnv(t)
	alicePhone, bobPhone, alice, bob := e.aliceAndBob()
	ctx := t.Context()
	bobJID := bobPhone.JID()

	orig, err := alice.cli.SendMessage(ctx, bobJID, &waE2E.Message{Conversation: proto.String("helo")})
	if err != nil {
		t.Fatal(err)
	}
	waitFor[*events.Message](t, bob, 10*time.Second)

	if _, err = alice.cli.SendMessage(ctx, bobJID, alice.cli.BuildEdit(bobJID, orig.ID, &waE2E.Message{Conversation: proto.String("hello")})); err != nil {
		t.Fatalf("edit: %v", err)
	}
	edit := waitFor[*events.Message](t, bob, 10*time.Second)
	// whatsmeow unwraps the edit only to the protocol message inside.
	pm := edit.Message.GetProtocolMessage()
	if !edit.IsEdit || edit.Info.Edit != types.EditAttributeMessageEdit || pm.GetKey().GetID() != orig.ID ||
		pm.GetEditedMessage().GetConversation() != "hello" {
		t.Errorf("edit arrived as IsEdit=%v edit=%q %v", edit.IsEdit, edit.Info.Edit, edit.Message)
	}

	if _, err = bob.cli.SendMessage(ctx, alicePhone.JID(), bob.cli.BuildReaction(alicePhone.JID(), alicePhone.LID(), orig.ID, "👍")); err != nil {
		t.Fatalf("reaction: %v", err)
	}
	react := waitFor[*events.Message](t, alice, 10*time.Second)
	if r := react.Message.GetReactionMessage(); r.GetText() != "👍" || r.GetKey().GetID() != orig.ID {
		t.Errorf("reaction arrived as %v", react.Message)
	}

	if _, err = alice.cli.SendMessage(ctx, bobJID, alice.cli.BuildRevoke(bobJID, types.EmptyJID, orig.ID)); err != nil {
		t.Fatalf("revoke: %v", err)
	}
	revoke := waitFor[*events.Message](t, bob, 10*time.Second)
	if pm := revoke.Message.GetProtocolMessage(); pm.GetType() != waE2E.ProtocolMessage_REVOKE || pm.GetKey().GetID() != orig.ID {
		t.Errorf("revoke arrived as %v", revoke.Message)
	}
}

// TestReadReceiptReachesSender: MarkRead on the recipient reaches the
// sender as a read receipt for the message.
func TestReadReceiptReachesSender(t *testing.T) {
	e := newEnv(t)
	_, bobPhone, alice, bob := e.aliceAndBob()

	resp, err := alice.cli.SendMessage(t.Context(), bobPhone.JID(), &waE2E.Message{Conversation: proto.String("read me")})
	if err != nil {
		t.Fatal(err)
	}
	msg := waitFor[*events.Message](t, bob, 10*time.Second)
	if err = bob.cli.MarkRead(t.Context(), []types.MessageID{msg.Info.ID}, time.Now(), msg.Info.Chat, msg.Info.Sender); err != nil {
		t.Fatalf("mark read: %v", err)
	}
	for {
		rcpt := waitFor[*events.Receipt](t, alice, 10*time.Second)
		if rcpt.Type == types.ReceiptTypeDelivered {
			continue
		}
		if rcpt.Type != types.ReceiptTypeRead || rcpt.MessageIDs[0] != resp.ID || rcpt.Sender.ToNonAD() != bobPhone.LID() {
			t.Errorf("receipt %s for %v from %s, want read for %s from Bob", rcpt.Type, rcpt.MessageIDs, rcpt.Sender, resp.ID)
		}
		break
	}
}

// TestMessageReachesEveryDevice: with two linked devices on each side, a
// message reaches both of the recipient's devices, and the sender's other
// device gets its own copy (from me, in the chat with the recipient).
func TestMessageReachesEveryDevice(t *testing.T) {
	e := newEnv(t)
	alicePhone := e.phone("15550001111", "Alice")
	bobPhone := e.phone("15550002222", "Bob")
	a1, a2 := e.newClient("a1"), e.newClient("a2")
	b1, b2 := e.newClient("b1"), e.newClient("b2")
	e.pair(a1, alicePhone)
	e.pair(a2, alicePhone)
	e.pair(b1, bobPhone)
	e.pair(b2, bobPhone)

	resp, err := a1.cli.SendMessage(t.Context(), bobPhone.JID(), &waE2E.Message{Conversation: proto.String("to all of you")})
	if err != nil {
		t.Fatalf("send: %v", err)
	}
	for name, c := range map[string]*client{"b1": b1, "b2": b2} {
		msg := waitFor[*events.Message](t, c, 10*time.Second)
		if msg.Info.ID != resp.ID || msg.Message.GetConversation() != "to all of you" || msg.Info.IsFromMe {
			t.Errorf("%s got %s %q (from me %v)", name, msg.Info.ID, msg.Message.GetConversation(), msg.Info.IsFromMe)
		}
	}
	own := waitFor[*events.Message](t, a2, 10*time.Second)
	if !own.Info.IsFromMe || own.Info.ID != resp.ID || own.Message.GetConversation() != "to all of you" {
		t.Errorf("a2 got %s %q (from me %v)", own.Info.ID, own.Message.GetConversation(), own.Info.IsFromMe)
	}
	if own.Info.Chat != bobPhone.LID() {
		t.Errorf("a2's copy is in chat %s, want Bob's LID %s", own.Info.Chat, bobPhone.LID())
	}
}

// TestNewDeviceIsIncludedAfterNotification: Alice has cached Bob's device
// list; when Bob links a second device, the devices notification updates
// her cache, so her next message reaches both of Bob's devices.
func TestNewDeviceIsIncludedAfterNotification(t *testing.T) {
	e := newEnv(t)
	alicePhone := e.phone("15550001111", "Alice")
	bobPhone := e.phone("15550002222", "Bob")
	alice, b1 := e.newClient("alice"), e.newClient("b1")
	e.pair(alice, alicePhone)
	e.pair(b1, bobPhone)
	if _, err := alice.cli.SendMessage(t.Context(), bobPhone.JID(), &waE2E.Message{Conversation: proto.String("first")}); err != nil {
		t.Fatal(err)
	}
	waitFor[*events.Message](t, b1, 10*time.Second)

	b2 := e.newClient("b2")
	e.pair(b2, bobPhone)
	waitSettled(t, e.sim, *alice.cli.Store.ID)

	resp, err := alice.cli.SendMessage(t.Context(), bobPhone.JID(), &waE2E.Message{Conversation: proto.String("second")})
	if err != nil {
		t.Fatal(err)
	}
	for name, c := range map[string]*client{"b1": b1, "b2": b2} {
		if msg := waitFor[*events.Message](t, c, 10*time.Second); msg.Info.ID != resp.ID {
			t.Errorf("%s got %s, want %s", name, msg.Info.ID, resp.ID)
		}
	}
}
