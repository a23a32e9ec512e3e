package whatsapp

import (
	"context"
	"sync"

	"go.mau.fi/whatsmeow/store"
	"go.mau.fi/whatsmeow/types"
)

// lockedContacts closes a data race in whatsmeow's SQL contact store (at
// the pinned version): GetContact copies the cached entry after releasing
// the store's lock, while PutPushName, which whatsmeow runs on a goroutine
// of its own for every message that brings a new push name, writes that
// entry under it. Ferry reads contacts while it makes a portal for the
// very message that brought the name, so the two meet. A lock of our own
// around the store's reads and writes keeps them apart; methods it does
// not list (none at this version) pass through.
type lockedContacts struct {
	mu sync.RWMutex
	store.ContactStore
}

// lockContacts wraps the device's contact store, once.
func lockContacts(device *store.Device) {
	if _, done := device.Contacts.(*lockedContacts); done || device.Contacts == nil {
		return
	}
	device.Contacts = &lockedContacts{ContactStore: device.Contacts}
}

func (l *lockedContacts) PutPushName(ctx context.Context, user types.JID, pushName string) (bool, string, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.ContactStore.PutPushName(ctx, user, pushName)
}

func (l *lockedContacts) PutBusinessName(ctx context.Context, user types.JID, businessName string) (bool, string, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.ContactStore.PutBusinessName(ctx, user, businessName)
}

func (l *lockedContacts) PutContactName(ctx context.Context, user types.JID, fullName, firstName string) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.ContactStore.PutContactName(ctx, user, fullName, firstName)
}

func (l *lockedContacts) PutAllContactNames(ctx context.Context, contacts []store.ContactEntry) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.ContactStore.PutAllContactNames(ctx, contacts)
}

func (l *lockedContacts) PutManyRedactedPhones(ctx context.Context, entries []store.RedactedPhoneEntry) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.ContactStore.PutManyRedactedPhones(ctx, entries)
}

func (l *lockedContacts) GetContact(ctx context.Context, user types.JID) (types.ContactInfo, error) {
	l.mu.RLock()
	defer l.mu.RUnlock()
	return l.ContactStore.GetContact(ctx, user)
}

func (l *lockedContacts) GetAllContacts(ctx context.Context) (map[types.JID]types.ContactInfo, error) {
	l.mu.RLock()
	defer l.mu.RUnlock()
	return l.ContactStore.GetAllContacts(ctx)
}
