package bridge_test

import (
	"testing"
	"time"

	"maunium.net/go/mautrix/event"
)

// A room made public or world_readable while a login asks there stops
// the login (roomOpened). One that was opened before the login began
// sent no such change while it ran: the login started there all the
// same, and asked for the password in a room anyone may join or read.

// TestLoginRefusedInARoomAlreadyPublic: alice makes her management room
// public, then sends `login test carol` there.
func TestLoginRefusedInARoomAlreadyPublic(t *testing.T) {
	h, alice, _, _ := sharedLoginScene(t)
	mgmt := h.ManagementRoom(alice)
	openRoom(t, h, alice, mgmt, event.StateJoinRules, &event.JoinRulesEventContent{JoinRule: event.JoinRulePublic})()
	time.Sleep(time.Second) // the bot has seen the change
	h.Command(alice, mgmt, "login test carol", "anyone")
	if said := botSaidSince(h, alice, mgmt, nil, "Please send your password"); len(said) != 0 {
		t.Errorf("a login in a public room asked for the password: %q", said)
	}
}

// TestLoginRefusedInARoomAlreadyWorldReadable: the same for a room whose
// history anyone may read.
func TestLoginRefusedInARoomAlreadyWorldReadable(t *testing.T) {
	h, alice, _, _ := sharedLoginScene(t)
	mgmt := h.ManagementRoom(alice)
	openRoom(t, h, alice, mgmt, event.StateHistoryVisibility,
		&event.HistoryVisibilityEventContent{HistoryVisibility: event.HistoryVisibilityWorldReadable})()
	time.Sleep(time.Second)
	h.Command(alice, mgmt, "login test carol", "anyone")
	if said := botSaidSince(h, alice, mgmt, nil, "Please send your password"); len(said) != 0 {
		t.Errorf("a login in a world-readable room asked for the password: %q", said)
	}
}
