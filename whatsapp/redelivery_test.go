package whatsapp

import (
	"context"
	"errors"
	"strconv"
	"testing"
	"time"

	"go.mau.fi/libsignal/ecc"
	"go.mau.fi/libsignal/keys/identity"
	"go.mau.fi/libsignal/keys/prekey"
	"go.mau.fi/libsignal/util/optional"
	"go.mau.fi/whatsmeow"
	waBinary "go.mau.fi/whatsmeow/binary"
	"go.mau.fi/whatsmeow/proto/waAdv"
	"go.mau.fi/whatsmeow/proto/waE2E"
	"go.mau.fi/whatsmeow/store"
	"go.mau.fi/whatsmeow/store/sqlstore"
	"go.mau.fi/whatsmeow/store/sqlstore/upgrades"
	"go.mau.fi/whatsmeow/types"
	"google.golang.org/protobuf/proto"

	"github.com/ferrybridge/ferry/bridge/network"
	"github.com/ferrybridge/ferry/database"
	"github.com/ferrybridge/ferry/internal/dbtest"
)

// sender is another WhatsApp device (Bob's phone) with its own whatsmeow
// store, which Signal-encrypts messages to the login's device exactly as
// WhatsApp's servers would hand them over: a <message> stanza with an
// <enc> child. Feeding such a stanza to the login's real client runs
// whatsmeow's whole receive path: decryption, the decrypted-event buffer,
// the handlers and the acknowledgement decision.
type sender struct {
	jid types.JID
	cli *whatsmeow.Client
	// bundle is the receiving device's pre-key bundle, as WhatsApp's
	// servers would hand it to the sender.
	bundle *prekey.Bundle
	to     types.JID
}

func newSender(t *testing.T, jid types.JID, to *store.Device) *sender {
	t.Helper()
	ctx := context.Background()
	container := newWhatsmeowStore(t)
	device := container.NewDevice()
	device.ID = &jid
	device.Account = &waAdv.ADVSignedDeviceIdentity{
		Details: []byte("d"), AccountSignature: make([]byte, 64), AccountSignatureKey: make([]byte, 32), DeviceSignature: make([]byte, 64),
	}
	if err := device.Save(ctx); err != nil {
		t.Fatal(err)
	}
	spk := to.SignedPreKey
	bundle := prekey.NewBundle(to.RegistrationID, uint32(to.ID.Device), optional.NewEmptyUint32(), spk.KeyID,
		nil, ecc.NewDjbECPublicKey(*spk.Pub), *spk.Signature, identity.NewKey(ecc.NewDjbECPublicKey(*to.IdentityKey.Pub)))
	return &sender{jid: jid, cli: whatsmeow.NewClient(device, nil), bundle: bundle, to: *to.ID}
}

// newWhatsmeowStore is a whatsmeow store of its own for a contact's
// client, in a SQLite file of the test.
func newWhatsmeowStore(t *testing.T) *sqlstore.Container {
	t.Helper()
	db := dbtest.Open(t, database.DefaultType, dbtest.SQLiteURI(t))
	container := sqlstore.NewWithWrappedDB(db.Child("whatsmeow_version", upgrades.Table, nil), nil)
	if err := container.Upgrade(context.Background()); err != nil {
		t.Fatal(err)
	}
	return container
}

// stanza encrypts msg as the next message of the Signal session (the first
// one carries the pre-key bundle) and wraps it as WhatsApp delivers it.
func (s *sender) stanza(t *testing.T, msgID string, ts time.Time, msg *waE2E.Message) *waBinary.Node {
	t.Helper()
	plaintext, err := proto.Marshal(msg)
	if err != nil {
		t.Fatal(err)
	}
	bundle := s.bundle
	s.bundle = nil
	enc, _, err := s.cli.DangerousInternals().EncryptMessageForDevice(context.Background(), plaintext, s.to, bundle, nil, nil)
	if err != nil {
		t.Fatalf("encrypt: %v", err)
	}
	return &waBinary.Node{Tag: "message", Attrs: waBinary.Attrs{
		"from": s.jid, "id": msgID, "t": strconv.FormatInt(ts.Unix(), 10), "type": "text",
	}, Content: []waBinary.Node{*enc}}
}

// receive hands a stanza to the login's client as its connection would.
func receive(cli *whatsmeow.Client, node *waBinary.Node) {
	cli.DangerousInternals().HandleEncryptedMessage(context.Background(), node)
}

// TestRedeliveryAfterFailedBridgingIsServedFromTheBuffer: a message whose
// bridging failed is not acknowledged, and when WhatsApp delivers the same
// ciphertext again it is decrypted from the buffer and bridged; once
// bridged, a further copy is dropped as already processed. Without the
// buffer, the same redelivery could not be decrypted any more.
func TestRedeliveryAfterFailedBridgingIsServedFromTheBuffer(t *testing.T) {
	for _, buffered := range []bool{true, false} {
		t.Run("buffer="+strconv.FormatBool(buffered), func(t *testing.T) {
			env := newEnv(t, sqliteDB(t), "")
			env.cl.cli.EnableDecryptedEventBuffer = buffered
			bob := newSender(t, bobPN, env.device)
			down := true
			env.host.handle = func(evt network.Event) error {
				if down {
					return errors.New("homeserver unavailable")
				}
				return nil
			}
			node := bob.stanza(t, "M1", time.Unix(1700000000, 0), &waE2E.Message{Conversation: proto.String("hello")})
			key := bobPN.String() + "/M1"

			receive(env.cl.cli, node)
			_, handled := env.host.take()
			if len(handled) != 1 || env.cl.failures[key] != 1 {
				t.Fatalf("first delivery: %d events handled, %d failures recorded; want 1 and 1 (the failure withholds the ack)", len(handled), env.cl.failures[key])
			}

			env.host.mu.Lock()
			down = false
			env.host.mu.Unlock()
			receive(env.cl.cli, node) // WhatsApp redelivers the unacknowledged stanza
			_, handled = env.host.take()
			if !buffered {
				if len(handled) != 0 {
					t.Fatalf("without the buffer the redelivery was bridged (%d events); the test no longer shows what the buffer is for", len(handled))
				}
				return
			}
			if len(handled) != 1 {
				t.Fatalf("redelivery: %d events handled, want 1", len(handled))
			}
			msg, ok := handled[0].(*network.Message)
			if !ok || msg.ID != "M1" || msg.Parts[0].Content.Body != "hello" {
				t.Fatalf("redelivery bridged %#v", handled[0])
			}
			if _, still := env.cl.failures[key]; still {
				t.Error("the failure count outlived the success")
			}

			receive(env.cl.cli, node) // a copy whose ack was lost
			if _, handled = env.host.take(); len(handled) != 0 {
				t.Errorf("a copy of an already bridged message was handled again: %d events", len(handled))
			}
		})
	}
}
