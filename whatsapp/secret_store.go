package whatsapp

import (
	"context"

	"go.mau.fi/whatsmeow/store"
	"go.mau.fi/whatsmeow/types"
)

// secretStoreError is an error of the device's store of message secrets,
// as markSecretStore marks it. whatsmeow wraps the store's error with %w
// when it decrypts an edit or a reaction (msgsecret.go, decryptMsgSecret)
// but exports no error value or type for that failure: the mark lets
// Ferry tell it apart from a message it cannot read (errors.As), whatever
// whatsmeow's words around it.
type secretStoreError struct{ err error }

func (e *secretStoreError) Error() string { return e.err.Error() }
func (e *secretStoreError) Unwrap() error { return e.err }

// markedSecrets is a device's message secret store whose read errors are
// secretStoreErrors.
type markedSecrets struct{ store.MsgSecretStore }

func (m markedSecrets) GetMessageSecret(ctx context.Context, chat, sender types.JID, id types.MessageID) ([]byte, types.JID, error) {
	secret, realSender, err := m.MsgSecretStore.GetMessageSecret(ctx, chat, sender, id)
	if err != nil {
		err = &secretStoreError{err: err}
	}
	return secret, realSender, err
}

// markSecretStore wraps the device's message secret store, once. Like
// lockContacts, it is done where a client gets a stored device
// (newWAClient) and where pairing gave a new one its stores
// (loginProcess.finish).
func markSecretStore(device *store.Device) {
	if _, done := device.MsgSecrets.(markedSecrets); done || device.MsgSecrets == nil {
		return
	}
	device.MsgSecrets = markedSecrets{MsgSecretStore: device.MsgSecrets}
}
