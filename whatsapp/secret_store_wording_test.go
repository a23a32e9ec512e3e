package whatsapp

import (
	"bytes"
	"context"
	"errors"
	"testing"

	"go.mau.fi/whatsmeow/proto/waE2E"
	"go.mau.fi/whatsmeow/store"
	"go.mau.fi/whatsmeow/types"
	"google.golang.org/protobuf/proto"
)

// errSecretsDown is what secretsDown's reads fail with.
var errSecretsDown = errors.New("database is locked")

// secretsDown is a device's message secret store that cannot be read.
type secretsDown struct{ store.MsgSecretStore }

func (secretsDown) GetMessageSecret(context.Context, types.JID, types.JID, types.MessageID) ([]byte, types.JID, error) {
	return nil, types.EmptyJID, errSecretsDown
}

// TestSecretStoreFailureWording pins what isSecretStoreError relies on.
// The pinned whatsmeow exports no error value or type for a failed read
// of its message secret store (only ErrOriginalMessageSecretNotFound, for
// a secret it does not have): it wraps the store's error as "failed to get
// original message secret key: %w", so Ferry matches that wording
// (secretStoreFailure). Here whatsmeow's real decryption runs against a
// store that fails, and against one without the secret and one with a
// wrong secret: should whatsmeow reword its error, this test names the
// new wording, where the behaviour tests (TestSecretEditStoreErrorIsRetried,
// TestEncryptedReactionStoreErrorIsRetried) would only show a retry lost.
func TestSecretStoreFailureWording(t *testing.T) {
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
	kept := cli.Store.MsgSecrets

	cli.Store.MsgSecrets = secretsDown{kept}
	for what, run := range decrypt {
		err := run()
		if !errors.Is(err, errSecretsDown) {
			t.Errorf("%s, its secret unreadable: whatsmeow returned %v, which no longer wraps the store's error", what, err)
		}
		if !isSecretStoreError(err) {
			t.Errorf("%s, its secret unreadable: whatsmeow's error %q is no longer recognised as a store failure, "+
				"as it no longer starts with %q: update secretStoreFailure (secret_edit.go), or match an error value if whatsmeow now exports one",
				what, err, secretStoreFailure)
		}
	}

	cli.Store.MsgSecrets = kept
	for what, run := range decrypt {
		if err := run(); err == nil || isSecretStoreError(err) {
			t.Errorf("%s whose secret Ferry never had: error %v, taken for a store failure %v; want a message that cannot be read", what, err, isSecretStoreError(err))
		}
	}
	if err := kept.PutMessageSecret(env.ctx, bobPN, bobPN, "ORIG", bytes.Repeat([]byte{0x17}, 32)); err != nil {
		t.Fatal(err)
	}
	for what, run := range decrypt {
		if err := run(); err == nil || isSecretStoreError(err) {
			t.Errorf("%s sealed with another secret: error %v, taken for a store failure %v; want a message that cannot be read", what, err, isSecretStoreError(err))
		}
	}
}
