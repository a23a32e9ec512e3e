package bridge_test

import (
	"testing"
	"time"

	"maunium.net/go/mautrix/event"
	"maunium.net/go/mautrix/id"

	"github.com/ferrybridge/ferry/internal/ferrytest"
	"github.com/ferrybridge/ferry/internal/testbed"
)

// A login asking for a password stops once its room is opened to anyone:
// made public through its join rules, or its history made readable to
// everyone. Before, only an invite or a join stopped it (cae9d67); a
// room anyone may join or read went on taking the password.

// openRoom has alice set the state event typ of room to content.
func openRoom(t *testing.T, h *ferrytest.Harness, alice *testbed.Client, room id.RoomID, typ event.Type, content any) func() {
	return func() {
		if _, err := alice.SendStateEvent(h.Context(time.Minute), room, typ, "", content); err != nil {
			t.Fatal(err)
		}
	}
}

// TestLoginStopsWhenItsRoomIsMadePublic: alice makes her management room
// public while a login there asks for her password.
func TestLoginStopsWhenItsRoomIsMadePublic(t *testing.T) {
	h, alice, _, _ := sharedLoginScene(t)
	mgmt := h.ManagementRoom(alice)
	h.Command(alice, mgmt, "login test carol", "password")
	loginStoppedOnceShared(t, h, alice, mgmt, openRoom(t, h, alice, mgmt, event.StateJoinRules,
		&event.JoinRulesEventContent{JoinRule: event.JoinRulePublic}))
}

// TestLoginStopsWhenItsRoomIsMadeWorldReadable: alice makes the history
// of her management room readable to anyone while a login there asks.
func TestLoginStopsWhenItsRoomIsMadeWorldReadable(t *testing.T) {
	h, alice, _, _ := sharedLoginScene(t)
	mgmt := h.ManagementRoom(alice)
	h.Command(alice, mgmt, "login test carol", "password")
	loginStoppedOnceShared(t, h, alice, mgmt, openRoom(t, h, alice, mgmt, event.StateHistoryVisibility,
		&event.HistoryVisibilityEventContent{HistoryVisibility: event.HistoryVisibilityWorldReadable}))
}
