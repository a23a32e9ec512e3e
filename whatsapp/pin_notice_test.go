package whatsapp

import (
	"testing"

	"go.mau.fi/whatsmeow/proto/waCommon"
	"go.mau.fi/whatsmeow/proto/waE2E"
	"go.mau.fi/whatsmeow/types"
	"google.golang.org/protobuf/proto"
	"maunium.net/go/mautrix/event"

	"github.com/ferrybridge/ferry/bridge/network"
)

// TestPinReachesTheCoreAsNotice: Bob pins a message in the group for 7
// days, as whatsmeow delivers it (a pinInChatMessage beside its
// messageContextInfo). The core gets a message from Bob: a notice that
// replies to the pinned message, not nothing.
func TestPinReachesTheCoreAsNotice(t *testing.T) {
	env := newEnv(t, sqliteDB(t), "")
	src := types.MessageSource{Chat: group, Sender: bobPN, IsGroup: true}
	raw := &waE2E.Message{
		PinInChatMessage: &waE2E.PinInChatMessage{
			Key:  &waCommon.MessageKey{RemoteJID: proto.String(group.String()), ID: proto.String("3EB0PINNED"), Participant: proto.String(carlLID.String())},
			Type: waE2E.PinInChatMessage_PIN_FOR_ALL.Enum(),
		},
		MessageContextInfo: &waE2E.MessageContextInfo{MessageAddOnDurationInSecs: proto.Uint32(7 * 86400)},
	}
	if !env.dispatch(incoming("PIN1", src, raw)) {
		t.Fatal("the pin was not acknowledged")
	}
	_, handled := env.host.take()
	if len(handled) != 1 {
		t.Fatalf("%d events handled, want the pin's notice", len(handled))
	}
	msg, ok := handled[0].(*network.Message)
	if !ok || msg.ReplyTo == nil || msg.ReplyTo.ID != "3EB0PINNED" || len(msg.Parts) != 1 {
		t.Fatalf("handled %#v, want a message replying to 3EB0PINNED", handled[0])
	}
	if c := msg.Parts[0].Content; c.MsgType != event.MsgNotice || c.Body != "📌 Pinned a message for 7 days" {
		t.Errorf("the pin shows as %s %q, want the notice", c.MsgType, c.Body)
	}
}
