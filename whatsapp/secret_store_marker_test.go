package whatsapp

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"go.mau.fi/whatsmeow/proto/waE2E"
	"go.mau.fi/whatsmeow/types"
	"go.mau.fi/whatsmeow/types/events"
	"google.golang.org/protobuf/proto"

	"github.com/ferrybridge/ferry/bridge/network"
)

// rewordingWA is whatsmeow as a later version might be: it wraps a
// failed read of the message secret store in other words (still with
// %w), as the pinned one does with "failed to get original message
// secret key".
type rewordingWA struct{ waClient }

func reword(err error) error {
	for e := err; e != nil; e = errors.Unwrap(e) {
		if strings.HasPrefix(e.Error(), "failed to get original message secret key: ") {
			return fmt.Errorf("message secret lookup failed: %w", errors.Unwrap(e))
		}
	}
	return err
}

func (r rewordingWA) DecryptSecretEncryptedMessage(ctx context.Context, evt *events.Message) (*waE2E.Message, error) {
	msg, err := r.waClient.DecryptSecretEncryptedMessage(ctx, evt)
	return msg, reword(err)
}

func (r rewordingWA) DecryptReaction(ctx context.Context, evt *events.Message) (*waE2E.ReactionMessage, error) {
	msg, err := r.waClient.DecryptReaction(ctx, evt)
	return msg, reword(err)
}

// TestSecretStoreFailureWhateverTheWording: Bob's encrypted edit and
// reaction arrive while the device's store of message secrets cannot be
// read (its table is gone for a moment; the real SQL store fails). Ferry
// has the secrets, so neither may be shown as unreadable or dropped: each
// is left unacknowledged for WhatsApp to deliver again, and bridged when
// it comes again. That holds whatever words whatsmeow wraps the store's
// error in: Ferry knows the error as its store's, not by its wording.
func TestSecretStoreFailureWhateverTheWording(t *testing.T) {
	env := newEnv(t, sqliteDB(t), "")
	env.wa.realSecrets = true
	env.cl.wa = rewordingWA{env.cl.wa}
	secret := bytes.Repeat([]byte{0x42}, 32)
	if err := env.cl.cli.Store.MsgSecrets.PutMessageSecret(env.ctx, bobPN, bobPN, "ORIG", secret); err != nil {
		t.Fatal(err)
	}
	src := types.MessageSource{Chat: bobPN, Sender: bobPN}
	edit := secretEdit(t, secret, ownPN, bobPN, "ORIG", &waE2E.Message{Conversation: proto.String("fixed")})
	reaction := encReaction(t, secret, ownPN, bobPN, "ORIG", "👍")

	if _, err := env.host.db.Exec(env.ctx, `ALTER TABLE whatsmeow_message_secrets RENAME TO secrets_away`); err != nil {
		t.Fatal(err)
	}
	if env.dispatch(incoming("EDIT1", src, edit)) {
		t.Error("the edit was acknowledged although its secret could not be read")
	}
	if env.dispatch(incoming("REACT1", src, reaction)) {
		t.Error("the reaction was acknowledged although its secret could not be read")
	}
	if q, h := env.host.take(); len(q)+len(h) > 0 {
		t.Fatalf("bridged %d+%d events while the store failed: %+v %+v", len(q), len(h), q, h)
	}

	if _, err := env.host.db.Exec(env.ctx, `ALTER TABLE secrets_away RENAME TO whatsmeow_message_secrets`); err != nil {
		t.Fatal(err)
	}
	if !env.dispatch(incoming("EDIT1", src, edit)) || !env.dispatch(incoming("REACT1", src, reaction)) {
		t.Fatal("the edit or the reaction delivered again was not acknowledged")
	}
	_, handled := env.host.take()
	if len(handled) != 2 {
		t.Fatalf("%d events handled, want the edit and the reaction: %+v", len(handled), handled)
	}
	if e, ok := handled[0].(*network.Edit); !ok || e.Target != "ORIG" || len(e.Parts) != 1 || e.Parts[0].Content.Body != "fixed" {
		t.Errorf("handled %#v, want the edit of ORIG to \"fixed\"", handled[0])
	}
	if r, ok := handled[1].(*network.Reaction); !ok || r.Target.ID != "ORIG" {
		t.Errorf("handled %#v, want the reaction to ORIG", handled[1])
	}
}

// failSecretReads makes the next n reads of the client's message secret
// store fail, beneath the mark Ferry puts on its errors, as a database
// that is briefly unreachable does.
func failSecretReads(t *testing.T, env *testEnv, n int) {
	t.Helper()
	marked, ok := env.cl.cli.Store.MsgSecrets.(markedSecrets)
	if !ok {
		t.Fatalf("the device's message secret store is %T, not marked", env.cl.cli.Store.MsgSecrets)
	}
	env.cl.cli.Store.MsgSecrets = markedSecrets{&secretsFailingOnce{MsgSecretStore: marked.MsgSecretStore, fails: n}}
}

// TestSecretStoreFailureIsMarked pins what isSecretStoreError relies on:
// whatsmeow's real decryption of an edit and a reaction, on a store that
// fails, returns an error that still wraps the store's (with %w), so the
// mark is found; a secret Ferry never had and a wrong one are no store
// failure.
func TestSecretStoreFailureIsMarked(t *testing.T) {
	env := newEnv(t, sqliteDB(t), "")
	src := types.MessageSource{Chat: bobPN, Sender: bobPN}
	secret := bytes.Repeat([]byte{0x42}, 32)
	edit := incoming("EDIT1", src, secretEdit(t, secret, ownPN, bobPN, "ORIG", &waE2E.Message{Conversation: proto.String("fixed")}))
	edit.Message = edit.RawMessage
	reaction := incoming("REACT1", src, encReaction(t, secret, ownPN, bobPN, "ORIG", "👍"))
	reaction.Message = reaction.RawMessage
	cli := env.cl.cli
	decrypt := map[string]func() error{
		"an encrypted edit": func() error {
			_, err := cli.DecryptSecretEncryptedMessage(env.ctx, edit)
			return err
		},
		"an encrypted reaction": func() error {
			_, err := cli.DecryptReaction(env.ctx, reaction)
			return err
		},
	}

	failSecretReads(t, env, len(decrypt))
	for what, run := range decrypt {
		if err := run(); !isSecretStoreError(err) {
			t.Errorf("%s, its secret unreadable: whatsmeow returned %v, which no longer wraps the store's error with %%w, "+
				"so Ferry takes it for a message it cannot read: match whatsmeow's error value, if it now exports one", what, err)
		}
	}

	for what, run := range decrypt {
		if err := run(); err == nil || isSecretStoreError(err) {
			t.Errorf("%s whose secret Ferry never had: error %v, taken for a store failure %v; want a message that cannot be read", what, err, isSecretStoreError(err))
		}
	}
	if err := cli.Store.MsgSecrets.PutMessageSecret(env.ctx, bobPN, bobPN, "ORIG", bytes.Repeat([]byte{0x17}, 32)); err != nil {
		t.Fatal(err)
	}
	for what, run := range decrypt {
		if err := run(); err == nil || isSecretStoreError(err) {
			t.Errorf("%s sealed with another secret: error %v, taken for a store failure %v; want a message that cannot be read", what, err, isSecretStoreError(err))
		}
	}
}

// TestSimLinkedDeviceSecretStoreIsMarked: a device that pairs gets its
// stores from whatsmeow only then, after its client was made; its
// message secret store must carry the mark as a restored device's does,
// or a store failure on an edit would show as "could not read the edit"
// until Ferry restarts.
func TestSimLinkedDeviceSecretStoreIsMarked(t *testing.T) {
	s := newSimScene(t)
	cl := s.conn.client(loginIDOf(s.alicePhone.JID()))
	if cl == nil {
		t.Fatal("no client for Alice's login")
	}
	if _, ok := cl.cli.Store.MsgSecrets.(markedSecrets); !ok {
		t.Errorf("the linked device's message secret store is %T, not marked", cl.cli.Store.MsgSecrets)
	}
}
