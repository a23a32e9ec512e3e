package whatsapp

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"

	"go.mau.fi/whatsmeow/store"
	"go.mau.fi/whatsmeow/types"

	"github.com/ferrybridge/ferry/bridge/network"
)

// breakingContacts is a contact store whose reads panic once broken, as
// a store might on a corrupt row.
type breakingContacts struct {
	store.ContactStore
	broken atomic.Bool
}

func (b *breakingContacts) GetContact(ctx context.Context, user types.JID) (types.ContactInfo, error) {
	if b.broken.Load() {
		panic("corrupt contact row")
	}
	return b.ContactStore.GetContact(ctx, user)
}

// breakContacts puts a breakingContacts in front of the client's store;
// call it before the client connects.
func breakContacts(env *testEnv) *breakingContacts {
	b := &breakingContacts{ContactStore: env.cl.device.Contacts}
	env.cl.device.Contacts = b
	return b
}

// TestHistoryGivenUpWhileContactsPanicStillReported: a chat's history
// panics on its way to Matrix, and naming the chat for the user's notice
// (a contact-store read) panics too. That second panic escaped the
// history worker's recover: only the connector's last-resort recover
// caught it, so the worker ended with the chats after it never handed
// over (it still counted as running), the chat's gate never opened, and
// the user was not told. The chat must be given up and its user told,
// naming it by its ID, and the other chats get their history.
func TestHistoryGivenUpWhileContactsPanicStillReported(t *testing.T) {
	db := sqliteDB(t)
	env := newEnv(t, db, historyConfig)
	contacts := breakContacts(env)
	env.cl.Connect(env.ctx)
	bobChat := privatePortal(bobPN, ownLogin)
	env.host.handle = func(evt network.Event) error {
		if bf, ok := evt.(*network.Backfill); ok && bf.Portal == bobChat {
			contacts.broken.Store(true)
			panic("history of Bob's chat")
		}
		return nil
	}
	queueThreeChats(t, env)
	if got := env.waitHandled(t, 3); len(got) != 3 {
		t.Fatalf("handled %s; want the three backfills", describe(got))
	}
	waitNotice(t, env.host, "history of the WhatsApp chat "+bobPN.User)
}

// TestReuploadGivenUpWhileContactsPanicStillReported: the phone's answer
// to a re-upload request panics on a later try, and naming the chat for
// the user's notice panics too. That second panic escaped the give-up,
// and the user, whose room still shows the notice promising the file,
// was never told it will not come. The request must be forgotten and the
// user told.
func TestReuploadGivenUpWhileContactsPanicStillReported(t *testing.T) {
	quickMediaRetryRedelivery(t)
	env := newEnv(t, sqliteDB(t), "")
	contacts := breakContacts(env)
	answer := askedAgainForIMG(t, env)
	tries := 0
	env.host.handle = func(network.Event) error {
		if tries++; tries == 1 {
			return errors.New("homeserver down")
		}
		contacts.broken.Store(true)
		panic("the second try")
	}
	env.cl.cli.DangerousInternals().HandleMediaRetryNotification(env.ctx, answer)
	env.waitHandled(t, 2)
	waitForgotten(t, env, "IMG")
	waitNotice(t, env.host, "uploaded again in the WhatsApp chat "+bobPN.User)
}
