package whatsapp

import (
	"testing"

	"go.mau.fi/whatsmeow/proto/waCommon"
	"go.mau.fi/whatsmeow/proto/waE2E"
	"go.mau.fi/whatsmeow/types"
	"google.golang.org/protobuf/proto"
)

// TestSecretEditUnreadableCreatesNoRoom: an encrypted edit Ferry cannot
// decrypt (fakeWA keeps no secrets) is shown as a notice replying to the
// edited message, in the chat's room if it has one. Like any edit, it acts
// on a message and must not create a room: in a chat Ferry never bridged
// (an old group someone edits a message of) the room would hold only this
// notice about a message it does not have.
func TestSecretEditUnreadableCreatesNoRoom(t *testing.T) {
	env := newEnv(t, sqliteDB(t), "")
	src := types.MessageSource{Chat: group, Sender: bobPN, IsGroup: true}
	key := &waCommon.MessageKey{RemoteJID: proto.String(group.String()), FromMe: proto.Bool(true), ID: proto.String("ORIG")}
	raw := &waE2E.Message{SecretEncryptedMessage: &waE2E.SecretEncryptedMessage{
		TargetMessageKey: key, SecretEncType: waE2E.SecretEncryptedMessage_MESSAGE_EDIT.Enum(),
		EncPayload: []byte{1, 2, 3}, EncIV: make([]byte, 12),
	}}
	if !env.dispatch(incoming("EDIT1", src, raw)) {
		t.Fatal("not acknowledged")
	}
	msg, body := onlyNotice(t, env)
	if body != secretEditUnreadableText || msg.ID != "EDIT1" || msg.ReplyTo == nil || msg.ReplyTo.ID != "ORIG" || msg.Portal != groupPortal(group) {
		t.Errorf("notice %q %s replying to %+v in %v", body, msg.ID, msg.ReplyTo, msg.Portal)
	}
	if msg.CreatePortal {
		t.Error("the notice of an unreadable edit may create a room")
	}
}
