package whatsapp

import (
	"testing"

	"go.mau.fi/whatsmeow/proto/waCommon"
	"go.mau.fi/whatsmeow/proto/waE2E"
	"go.mau.fi/whatsmeow/types"
	"go.mau.fi/whatsmeow/types/events"
	"google.golang.org/protobuf/proto"
)

// TestSecretEditsOfPollsIgnored: encrypted edits of polls, and poll
// options added, are skipped as their plain forms are (Ferry shows polls
// only as notices), not shown as "Unsupported WhatsApp message type".
// Edits of events are bridged (TestSimEventEditAndCancellation).
func TestSecretEditsOfPollsIgnored(t *testing.T) {
	env := newEnv(t, sqliteDB(t), "")
	src := types.MessageSource{Chat: group, Sender: bobPN, IsGroup: true}
	key := &waCommon.MessageKey{RemoteJID: proto.String(group.String()), ID: proto.String("ORIG"), Participant: proto.String(bobPN.String())}
	var evts []*events.Message
	for _, kind := range []waE2E.SecretEncryptedMessage_SecretEncType{
		waE2E.SecretEncryptedMessage_POLL_EDIT, waE2E.SecretEncryptedMessage_POLL_ADD_OPTION,
	} {
		evts = append(evts, &events.Message{Info: types.MessageInfo{MessageSource: src, ID: "S-" + kind.String(), Timestamp: msgTime}, RawMessage: &waE2E.Message{
			SecretEncryptedMessage: &waE2E.SecretEncryptedMessage{TargetMessageKey: key, SecretEncType: kind.Enum(), EncPayload: []byte{1}, EncIV: make([]byte, 12)},
		}})
	}
	assertSkipped(t, env, evts...)
}
