package whatsapp

import (
	"testing"

	"go.mau.fi/whatsmeow/proto/waCommon"
	"go.mau.fi/whatsmeow/proto/waE2E"
	"go.mau.fi/whatsmeow/types"
	"go.mau.fi/whatsmeow/types/events"
	"google.golang.org/protobuf/proto"
)

// TestEventResponsesIgnored: an answer to a WhatsApp event invitation
// (an encrypted RSVP) acts on the event, which Ferry does not bridge; it
// is skipped as a poll vote is, not shown as "Unsupported WhatsApp
// message type encEventResponseMessage".
func TestEventResponsesIgnored(t *testing.T) {
	env := newEnv(t, sqliteDB(t), "")
	src := types.MessageSource{Chat: group, Sender: bobPN, IsGroup: true}
	key := &waCommon.MessageKey{RemoteJID: proto.String(group.String()), ID: proto.String("EVENT"), Participant: proto.String(ownPN.String())}
	evt := &events.Message{Info: types.MessageInfo{MessageSource: src, ID: "RSVP1", Timestamp: msgTime}, RawMessage: &waE2E.Message{
		EncEventResponseMessage: &waE2E.EncEventResponseMessage{EventCreationMessageKey: key, EncPayload: []byte{1}, EncIV: make([]byte, 12)},
		MessageContextInfo:      &waE2E.MessageContextInfo{},
	}}
	assertSkipped(t, env, evt)
}
