package whatsapp

import (
	"strings"
	"testing"

	"go.mau.fi/whatsmeow"
	"go.mau.fi/whatsmeow/proto/waCommon"
	"go.mau.fi/whatsmeow/proto/waE2E"
	"go.mau.fi/whatsmeow/types"
	"google.golang.org/protobuf/proto"

	"github.com/ferrybridge/ferry/bridge/network"
)

// encReaction is sender's reaction emoji to their own message origID in
// the DM with peer, encrypted with the message's secret as current
// WhatsApp apps send it (whatsmeow's "Enc Reaction" key derivation).
func encReaction(t *testing.T, secret []byte, peer, sender types.JID, origID types.MessageID, emoji string) *waE2E.Message {
	t.Helper()
	target := &waCommon.MessageKey{RemoteJID: proto.String(peer.String()), FromMe: proto.Bool(true), ID: proto.String(origID)}
	plain, err := proto.Marshal(&waE2E.ReactionMessage{Key: target, Text: proto.String(emoji)})
	if err != nil {
		t.Fatal(err)
	}
	enc, iv := sealWithSecret(t, secret, sender, origID, whatsmeow.EncSecretReaction, plain)
	return &waE2E.Message{EncReactionMessage: &waE2E.EncReactionMessage{TargetMessageKey: target, EncPayload: enc, EncIV: iv}}
}

// TestEncryptedReactionStoreErrorIsRetried: Bob's encrypted reaction
// arrives while the store of message secrets cannot be read. Ferry has
// the secret, so dropping the reaction would lose it for good: it is left
// unacknowledged for WhatsApp to deliver again, as an encrypted edit is,
// and bridged when it comes again (its key as the converter normalises
// it, with an emoji variation selector).
func TestEncryptedReactionStoreErrorIsRetried(t *testing.T) {
	handled := deliveredAgainAfterSecretStoreError(t, "reaction", "REACT1", func(secret []byte) *waE2E.Message {
		return encReaction(t, secret, ownPN, bobPN, "ORIG", "👍")
	})
	if len(handled) != 1 {
		t.Fatalf("%d events handled, want the reaction", len(handled))
	}
	if r, ok := handled[0].(*network.Reaction); !ok || r.Target.ID != "ORIG" || !strings.HasPrefix(string(r.Key), "👍") {
		t.Errorf("handled %#v, want the 👍 reaction to ORIG", handled[0])
	}
}
