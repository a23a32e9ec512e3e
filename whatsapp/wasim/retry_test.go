package wasim

import (
	"testing"
	"time"

	"go.mau.fi/whatsmeow/proto/waE2E"
	"go.mau.fi/whatsmeow/types"
	"go.mau.fi/whatsmeow/types/events"
	"google.golang.org/protobuf/proto"
)

// TestRetryReceiptRecoversLostSession: after Bob loses his Signal session
// with Alice's device, her next message cannot be decrypted; Bob's retry
// receipts reach Alice through the simulator, she re-encrypts (finally
// with the prekey bundle the second retry carries) and resends to Bob's
// device, and Bob gets the message.
func TestRetryReceiptRecoversLostSession(t *testing.T) {
	e := newEnv(t)
	alicePhone, bobPhone, alice, bob := e.aliceAndBob()

	// A message each way, so both sides hold a ratcheting session.
	if _, err := alice.cli.SendMessage(t.Context(), bobPhone.JID(), &waE2E.Message{Conversation: proto.String("one")}); err != nil {
		t.Fatalf("send one: %v", err)
	}
	waitFor[*events.Message](t, bob, 10*time.Second)
	if _, err := bob.cli.SendMessage(t.Context(), alicePhone.JID(), &waE2E.Message{Conversation: proto.String("two")}); err != nil {
		t.Fatalf("send two: %v", err)
	}
	waitFor[*events.Message](t, alice, 10*time.Second)

	aliceDevice := alice.cli.Store.GetLID()
	if aliceDevice.Server != types.HiddenUserServer || aliceDevice.Device == 0 {
		t.Fatalf("Alice's LID device is %s", aliceDevice)
	}
	if err := bob.cli.Store.Sessions.DeleteSession(t.Context(), aliceDevice.SignalAddress().String()); err != nil {
		t.Fatal(err)
	}

	resp, err := alice.cli.SendMessage(t.Context(), bobPhone.JID(), &waE2E.Message{Conversation: proto.String("three")})
	if err != nil {
		t.Fatalf("send three: %v", err)
	}
	undecryptable := waitFor[*events.UndecryptableMessage](t, bob, 10*time.Second)
	if undecryptable.Info.ID != resp.ID {
		t.Fatalf("undecryptable message is %s, want %s", undecryptable.Info.ID, resp.ID)
	}
	retry := waitFor[*events.Receipt](t, alice, 10*time.Second)
	for retry.Type != types.ReceiptTypeRetry {
		retry = waitFor[*events.Receipt](t, alice, 10*time.Second)
	}
	if retry.MessageIDs[0] != resp.ID {
		t.Errorf("retry receipt for %v, want %s", retry.MessageIDs, resp.ID)
	}
	msg := waitFor[*events.Message](t, bob, 15*time.Second)
	if msg.Info.ID != resp.ID || msg.Message.GetConversation() != "three" {
		t.Errorf("Bob got %s %q after retry", msg.Info.ID, msg.Message.GetConversation())
	}
}
