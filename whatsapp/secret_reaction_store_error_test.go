package whatsapp

import (
	"bytes"
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
	env := newEnv(t, sqliteDB(t), "")
	env.wa.realSecrets = true
	secret := bytes.Repeat([]byte{0x42}, 32)
	if err := env.cl.cli.Store.MsgSecrets.PutMessageSecret(env.ctx, bobPN, bobPN, "ORIG", secret); err != nil {
		t.Fatal(err)
	}
	failSecretReads(t, env, 1)
	src := types.MessageSource{Chat: bobPN, Sender: bobPN}
	raw := encReaction(t, secret, ownPN, bobPN, "ORIG", "👍")

	if env.dispatch(incoming("REACT1", src, raw)) {
		t.Error("the reaction was acknowledged although its secret could not be read")
	}
	if q, h := env.host.take(); len(q)+len(h) > 0 {
		t.Fatalf("bridged %d+%d events while the store failed: %+v %+v", len(q), len(h), q, h)
	}

	if !env.dispatch(incoming("REACT1", src, raw)) {
		t.Fatal("the reaction delivered again was not acknowledged")
	}
	_, handled := env.host.take()
	if len(handled) != 1 {
		t.Fatalf("%d events handled, want the reaction", len(handled))
	}
	if r, ok := handled[0].(*network.Reaction); !ok || r.Target.ID != "ORIG" || !strings.HasPrefix(string(r.Key), "👍") {
		t.Errorf("handled %#v, want the 👍 reaction to ORIG", handled[0])
	}
}
