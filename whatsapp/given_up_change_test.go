package whatsapp

import (
	"strings"
	"testing"
	"time"

	"go.mau.fi/whatsmeow/proto/waE2E"
	"go.mau.fi/whatsmeow/types"
	"google.golang.org/protobuf/proto"

	"github.com/ferrybridge/ferry/bridge/network"
)

// TestGivenUpEncryptedEditIsNoMessage: Bob's encrypted edit fails
// maxAttempts times before it becomes a contract event (the store of
// message secrets stays unreadable). Ferry gives up on it as on an edit
// the core failed: the user hears of it in the management room. No
// stand-in message "could not bridge this WhatsApp message" goes to the
// room, which would pose as a new message of Bob's.
func TestGivenUpEncryptedEditIsNoMessage(t *testing.T) {
	env, secret := envWithFailingSecrets(t, 1000)
	src := types.MessageSource{Chat: bobPN, Sender: bobPN}
	raw := secretEdit(t, secret, ownPN, bobPN, "ORIG", &waE2E.Message{Conversation: proto.String("fixed")})

	for i := 1; i < maxAttempts; i++ {
		if env.dispatch(incoming("EDIT1", src, raw)) {
			t.Fatalf("attempt %d acknowledged", i)
		}
	}
	if !env.dispatch(incoming("EDIT1", src, raw)) {
		t.Fatalf("attempt %d not acknowledged", maxAttempts)
	}
	queued, handled := env.host.take()
	for _, evt := range append(queued, handled...) {
		if msg, ok := evt.(*network.Message); ok {
			t.Errorf("the room gets a message %q for the given-up edit", msg.Parts[0].Content.Body)
		}
	}
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		env.host.mu.Lock()
		notices := strings.Join(env.host.notices, "\n")
		env.host.mu.Unlock()
		if strings.Contains(notices, "an edit") {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("the user was not told of the given-up edit; notices: %q", notices)
		}
	}
}
