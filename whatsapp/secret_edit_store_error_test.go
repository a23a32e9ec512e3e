package whatsapp

import (
	"bytes"
	"context"
	"errors"
	"sync"
	"testing"

	"go.mau.fi/whatsmeow/proto/waE2E"
	"go.mau.fi/whatsmeow/store"
	"go.mau.fi/whatsmeow/types"
	"google.golang.org/protobuf/proto"

	"github.com/ferrybridge/ferry/bridge/network"
)

// secretsFailingOnce is a device's message secret store whose next read
// fails, as a database that is briefly unreachable does.
type secretsFailingOnce struct {
	store.MsgSecretStore
	mu    sync.Mutex
	fails int
}

func (s *secretsFailingOnce) GetMessageSecret(ctx context.Context, chat, sender types.JID, id types.MessageID) ([]byte, types.JID, error) {
	s.mu.Lock()
	fail := s.fails > 0
	s.fails--
	s.mu.Unlock()
	if fail {
		return nil, types.EmptyJID, errors.New("database is locked")
	}
	return s.MsgSecretStore.GetMessageSecret(ctx, chat, sender, id)
}

// envWithFailingSecrets is a test env whose device has stored the secret
// of Bob's message ORIG in the DM, and whose store of message secrets
// fails its next fails reads. It returns the env and the secret.
func envWithFailingSecrets(t *testing.T, fails int) (*testEnv, []byte) {
	t.Helper()
	env := newEnv(t, sqliteDB(t), "")
	env.wa.realSecrets = true
	secret := bytes.Repeat([]byte{0x42}, 32)
	if err := env.cl.cli.Store.MsgSecrets.PutMessageSecret(env.ctx, bobPN, bobPN, "ORIG", secret); err != nil {
		t.Fatal(err)
	}
	failSecretReads(t, env, fails)
	return env, secret
}

// deliveredAgainAfterSecretStoreError has Bob's message id in the DM,
// made by seal with the secret of his message ORIG, arrive while the
// store of message secrets cannot be read, and then again. The first
// delivery must be left unacknowledged, for WhatsApp to deliver it again,
// with nothing bridged; the second acknowledged. It returns what the
// second delivery handled; what names the message in failures.
func deliveredAgainAfterSecretStoreError(t *testing.T, what string, id types.MessageID, seal func(secret []byte) *waE2E.Message) []network.Event {
	t.Helper()
	env, secret := envWithFailingSecrets(t, 1)
	src := types.MessageSource{Chat: bobPN, Sender: bobPN}
	raw := seal(secret)

	if env.dispatch(incoming(id, src, raw)) {
		t.Errorf("the %s was acknowledged although its secret could not be read", what)
	}
	if q, h := env.host.take(); len(q)+len(h) > 0 {
		t.Fatalf("bridged %d+%d events while the store failed: %+v %+v", len(q), len(h), q, h)
	}
	if !env.dispatch(incoming(id, src, raw)) {
		t.Fatalf("the %s delivered again was not acknowledged", what)
	}
	_, handled := env.host.take()
	return handled
}

// TestSecretEditStoreErrorIsRetried: Bob's encrypted edit arrives while
// the store of message secrets cannot be read. Ferry has the secret, so
// "could not read the edit" would be false: the edit is left
// unacknowledged for WhatsApp to deliver again, as other store failures
// are, and bridged as an edit when it comes again.
func TestSecretEditStoreErrorIsRetried(t *testing.T) {
	handled := deliveredAgainAfterSecretStoreError(t, "edit", "EDIT1", func(secret []byte) *waE2E.Message {
		return secretEdit(t, secret, ownPN, bobPN, "ORIG", &waE2E.Message{Conversation: proto.String("fixed")})
	})
	if len(handled) != 1 {
		t.Fatalf("%d events handled, want the edit", len(handled))
	}
	edit, ok := handled[0].(*network.Edit)
	if !ok || edit.Target != "ORIG" || len(edit.Parts) != 1 || edit.Parts[0].Content.Body != "fixed" {
		t.Errorf("handled %#v, want the edit of ORIG to \"fixed\"", handled[0])
	}
}
