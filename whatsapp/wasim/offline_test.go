package wasim

import (
	"sync/atomic"
	"testing"
	"time"

	"go.mau.fi/whatsmeow/proto/waE2E"
	"go.mau.fi/whatsmeow/types"
	"go.mau.fi/whatsmeow/types/events"
	"google.golang.org/protobuf/proto"
)

// TestMessageToOfflineDeviceIsDeliveredOnLogin: a message sent while the
// recipient is disconnected is queued and delivered at its next login,
// followed by the offline-sync marker counting it.
func TestMessageToOfflineDeviceIsDeliveredOnLogin(t *testing.T) {
	e := newEnv(t)
	_, bobPhone, alice, bob := e.aliceAndBob()

	bob.cli.Disconnect()
	resp, err := alice.cli.SendMessage(t.Context(), bobPhone.JID(), &waE2E.Message{Conversation: proto.String("while you were out")})
	if err != nil {
		t.Fatalf("send: %v", err)
	}
	if err = bob.cli.Connect(); err != nil {
		t.Fatalf("reconnect: %v", err)
	}
	msg := waitFor[*events.Message](t, bob, 10*time.Second)
	if msg.Info.ID != resp.ID || msg.Message.GetConversation() != "while you were out" {
		t.Errorf("got %s %q", msg.Info.ID, msg.Message.GetConversation())
	}
	if done := waitFor[*events.OfflineSyncCompleted](t, bob, 10*time.Second); done.Count != 1 {
		t.Errorf("offline sync count = %d, want 1", done.Count)
	}
}

// TestUnacknowledgedMessageIsRedelivered: when the recipient's handler
// fails, whatsmeow sends neither receipt nor ack, and the simulator
// delivers the message again at the next login, as WhatsApp does. Once a
// delivery is receipted it is not delivered again, and the sender gets
// the delivery receipt.
func TestUnacknowledgedMessageIsRedelivered(t *testing.T) {
	e := newEnv(t)
	alicePhone := e.phone("15550001111", "Alice")
	bobPhone := e.phone("15550002222", "Bob")
	alice, bob := e.newClient("alice"), e.newClient("bob")
	// The buffer lets whatsmeow decrypt the same ciphertext again.
	bob.cli.EnableDecryptedEventBuffer = true
	bob.cli.SynchronousAck = true
	var failed atomic.Int32
	bob.cli.AddEventHandlerWithSuccessStatus(func(evt any) bool {
		if _, ok := evt.(*events.Message); ok && failed.Load() == 0 {
			failed.Add(1)
			return false
		}
		return true
	})
	e.pair(alice, alicePhone)
	e.pair(bob, bobPhone)

	resp, err := alice.cli.SendMessage(t.Context(), bobPhone.JID(), &waE2E.Message{Conversation: proto.String("again")})
	if err != nil {
		t.Fatalf("send: %v", err)
	}
	first := waitFor[*events.Message](t, bob, 10*time.Second)
	if first.Info.ID != resp.ID {
		t.Fatalf("first delivery is %s, want %s", first.Info.ID, resp.ID)
	}

	bob.cli.Disconnect()
	if err = bob.cli.Connect(); err != nil {
		t.Fatalf("reconnect: %v", err)
	}
	again := waitFor[*events.Message](t, bob, 10*time.Second)
	if again.Info.ID != resp.ID || again.Message.GetConversation() != "again" {
		t.Errorf("redelivery is %s %q", again.Info.ID, again.Message.GetConversation())
	}
	if done := waitFor[*events.OfflineSyncCompleted](t, bob, 10*time.Second); done.Count != 1 {
		t.Errorf("offline sync count after failure = %d, want 1", done.Count)
	}
	rcpt := waitFor[*events.Receipt](t, alice, 10*time.Second)
	if rcpt.MessageIDs[0] != resp.ID {
		t.Errorf("receipt for %v", rcpt.MessageIDs)
	}

	bob.cli.Disconnect()
	if err = bob.cli.Connect(); err != nil {
		t.Fatalf("second reconnect: %v", err)
	}
	if done := waitFor[*events.OfflineSyncCompleted](t, bob, 10*time.Second); done.Count != 0 {
		t.Errorf("offline sync count after receipt = %d, want 0 (receipted message delivered again)", done.Count)
	}
}

// TestReceiptForOfflineSenderIsQueued: a delivery receipt produced while
// the sender is disconnected reaches it at its next login.
func TestReceiptForOfflineSenderIsQueued(t *testing.T) {
	e := newEnv(t)
	_, bobPhone, alice, bob := e.aliceAndBob()

	bob.cli.Disconnect()
	resp, err := alice.cli.SendMessage(t.Context(), bobPhone.JID(), &waE2E.Message{Conversation: proto.String("ping")})
	if err != nil {
		t.Fatalf("send: %v", err)
	}
	alice.cli.Disconnect()
	if err = bob.cli.Connect(); err != nil {
		t.Fatalf("Bob reconnect: %v", err)
	}
	waitFor[*events.Message](t, bob, 10*time.Second)
	waitSettled(t, e.sim, *bob.cli.Store.ID)

	if err = alice.cli.Connect(); err != nil {
		t.Fatalf("Alice reconnect: %v", err)
	}
	rcpt := waitFor[*events.Receipt](t, alice, 10*time.Second)
	if len(rcpt.MessageIDs) != 1 || rcpt.MessageIDs[0] != resp.ID || rcpt.Type != types.ReceiptTypeDelivered {
		t.Errorf("receipt %q for %v, want delivery of %s", rcpt.Type, rcpt.MessageIDs, resp.ID)
	}
}
