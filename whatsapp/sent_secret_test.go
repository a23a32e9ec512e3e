package whatsapp

import (
	"testing"

	"go.mau.fi/whatsmeow/proto/waE2E"
	"google.golang.org/protobuf/proto"
)

// withoutSecret checks that a message Send sent carries a 32-byte
// message secret (addMessageSecret) and returns a copy without it, for
// comparing the rest, which is not random.
func withoutSecret(t *testing.T, msg *waE2E.Message) *waE2E.Message {
	t.Helper()
	if n := len(msg.GetMessageContextInfo().GetMessageSecret()); n != 32 {
		t.Errorf("the message was sent with a %d-byte message secret, want 32", n)
	}
	out := proto.Clone(msg).(*waE2E.Message)
	if out.MessageContextInfo != nil {
		out.MessageContextInfo.MessageSecret = nil
		if proto.Size(out.MessageContextInfo) == 0 {
			out.MessageContextInfo = nil
		}
	}
	return out
}
