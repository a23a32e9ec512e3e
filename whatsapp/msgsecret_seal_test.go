package whatsapp

import (
	"testing"

	"go.mau.fi/util/random"
	"go.mau.fi/whatsmeow"
	"go.mau.fi/whatsmeow/proto/waCommon"
	"go.mau.fi/whatsmeow/proto/waE2E"
	"go.mau.fi/whatsmeow/types"
	"go.mau.fi/whatsmeow/util/gcmutil"
	"go.mau.fi/whatsmeow/util/hkdfutil"
	"google.golang.org/protobuf/proto"
)

// sealWithSecret encrypts plain as sender's change of their own message
// origID, with the key whatsmeow's generateMsgSecretKey derives from the
// original's message secret for use (both senders are sender's: the
// sender changes their own message; no additional data), and a fresh IV
// as WhatsApp clients use.
func sealWithSecret(t *testing.T, secret []byte, sender types.JID, origID types.MessageID, use whatsmeow.MsgSecretType, plain []byte) (enc, iv []byte) {
	t.Helper()
	info := origID + sender.ToNonAD().String() + sender.ToNonAD().String() + string(use)
	key := hkdfutil.SHA256(secret, nil, []byte(info), 32)
	iv = random.Bytes(12)
	enc, err := gcmutil.Encrypt(key, iv, plain, nil)
	if err != nil {
		t.Fatal(err)
	}
	return enc, iv
}

// secretEncrypted builds the SecretEncryptedMessage of kind a current
// WhatsApp client sends for a change of its own message origID in a chat
// with peer: payload sealed with the original's secret for use.
func secretEncrypted(t *testing.T, secret []byte, peer, sender types.JID, origID types.MessageID, payload *waE2E.Message, use whatsmeow.MsgSecretType, kind waE2E.SecretEncryptedMessage_SecretEncType) *waE2E.Message {
	t.Helper()
	plain, err := proto.Marshal(payload)
	if err != nil {
		t.Fatal(err)
	}
	enc, iv := sealWithSecret(t, secret, sender, origID, use, plain)
	return &waE2E.Message{SecretEncryptedMessage: &waE2E.SecretEncryptedMessage{
		TargetMessageKey: &waCommon.MessageKey{RemoteJID: proto.String(peer.String()), FromMe: proto.Bool(true), ID: proto.String(origID)},
		EncPayload:       enc,
		EncIV:            iv,
		SecretEncType:    kind.Enum(),
	}}
}
