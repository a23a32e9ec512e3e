package bridge_test

import (
	"strings"
	"testing"

	"maunium.net/go/mautrix/event"
	"maunium.net/go/mautrix/id"

	"github.com/ferrybridge/ferry/internal/ferrytest"
	"github.com/ferrybridge/ferry/internal/testbed"
)

// After a login stopped because its room was shared or opened, alice's
// next ordinary message there is deleted, in case it was the password
// (login_late.go). Her commands in between are answered and kept, and
// are not that message: before, the first of them used up the mark, and
// the password she typed after it stayed in the room, read by all.

// commandsThenPassword has alice send commands in room, where a login
// stopped, then a password: each command is answered and not deleted;
// the password is deleted, and she is told so in one notice.
func commandsThenPassword(t *testing.T, h *ferrytest.Harness, alice *testbed.Client, room id.RoomID, commands map[string]string) {
	t.Helper()
	var sent []id.EventID
	for command, want := range commands {
		before := ferrytest.Seen(alice, room)
		sent = append(sent, alice.SendText(t, room, command))
		h.WaitForBotNoticeExcept(alice, room, want, before)
	}
	before := ferrytest.Seen(alice, room)
	password := alice.SendText(t, room, "hunter2")
	told := h.WaitForBotNoticeExcept(alice, room, "I deleted your message", before).Content.AsMessage().Body
	if !strings.Contains(told, "others can read this room") || !strings.Contains(told, "`login test` in a direct chat") {
		t.Errorf("the notice of the deletion does not say why, or how to start again: %q", told)
	}
	waitRedacted(t, alice, room, password)
	for _, evt := range alice.Events(room) {
		if evt.Type != event.EventRedaction {
			continue
		}
		for _, command := range sent {
			if evt.Redacts == command {
				t.Errorf("a command was deleted: %s", command)
			}
		}
	}
	if told := botSaidSince(h, alice, room, before, "deleted"); len(told) != 1 {
		t.Errorf("alice was told of the deletion %d times, want once: %q", len(told), told)
	}
}

// TestCommandsAfterALoginStoppedInAPublicRoom: alice's management room
// was made public; it stays hers, and takes commands without the prefix.
func TestCommandsAfterALoginStoppedInAPublicRoom(t *testing.T) {
	h, alice, _, _ := sharedLoginScene(t)
	mgmt := h.ManagementRoom(alice)
	h.Command(alice, mgmt, "login test carol", "password")
	before := ferrytest.Seen(alice, mgmt)
	openRoom(t, h, alice, mgmt, event.StateJoinRules, &event.JoinRulesEventContent{JoinRule: event.JoinRulePublic})()
	h.WaitForBotNoticeExcept(alice, mgmt, "stopped your Testnet login", before)
	commandsThenPassword(t, h, alice, mgmt, map[string]string{"!ferry help": "Commands", "status": "no logins"})
}

// TestCommandsAfterALoginStoppedInASharedRoom: alice invited bob into her
// management room, which is hers no more: commands need the prefix.
func TestCommandsAfterALoginStoppedInASharedRoom(t *testing.T) {
	h, alice, _, invite := sharedLoginScene(t)
	mgmt := h.ManagementRoom(alice)
	h.Command(alice, mgmt, "login test carol", "password")
	before := ferrytest.Seen(alice, mgmt)
	invite(mgmt)()
	h.WaitForBotNoticeExcept(alice, mgmt, "stopped your Testnet login", before)
	commandsThenPassword(t, h, alice, mgmt, map[string]string{"!ferry help": "Commands", "!ferry status": "no logins"})
}
