package bridge_test

import (
	"testing"

	"maunium.net/go/mautrix/event"
	"maunium.net/go/mautrix/id"

	"github.com/ferrybridge/ferry/internal/ferrytest"
	"github.com/ferrybridge/ferry/internal/testbed"
	"github.com/ferrybridge/ferry/internal/testnet"
)

// earlierRoomLogin starts a login that asks alice for a password in her
// management room (first), then makes a newer direct chat with the bot
// her management room (second) and waits until first is told so: the
// question now waits in a room that is no management room any more.
func earlierRoomLogin(t *testing.T) (h *ferrytest.Harness, alice *testbed.Client, first, second id.RoomID) {
	t.Helper()
	h = ferrytest.Start(t, ferrytest.Options{}, testnet.New())
	alice = h.User("alice")
	first = h.ManagementRoom(alice)
	h.Command(alice, first, "login test carol", "password")
	second = h.ManagementRoom(alice)
	h.WaitForBotNotice(alice, first, "not your management room any more")
	return h, alice, first, second
}

// cancelledInEarlierRoom sets up earlierRoomLogin and cancels the login
// from the new management room: its question for a password ended
// unanswered in the earlier room, first. It returns the bot's notice
// there that the login was cancelled.
func cancelledInEarlierRoom(t *testing.T) (h *ferrytest.Harness, alice *testbed.Client, first id.RoomID, cancelled *event.Event) {
	t.Helper()
	h, alice, first, second := earlierRoomLogin(t)
	alice.SendText(t, second, "cancel")
	return h, alice, first, h.WaitForBotNotice(alice, first, "Login cancelled")
}

// lateAnswerInEarlierRoom sets up cancelledInEarlierRoom, then has alice
// type text in the earlier room where the password was asked. It waits
// for the bot's answer that the login had ended and for text to be
// deleted, and returns what alice had seen in that room before she typed
// it, and the message she typed.
func lateAnswerInEarlierRoom(t *testing.T, text string) (h *ferrytest.Harness, alice *testbed.Client, first id.RoomID, before map[id.EventID]bool, late id.EventID) {
	t.Helper()
	h, alice, first, _ = cancelledInEarlierRoom(t)
	before = ferrytest.Seen(alice, first)
	late = alice.SendText(t, first, text)
	h.WaitForBotNoticeExcept(alice, first, "had ended", before)
	waitRedacted(t, alice, first, late)
	return h, alice, first, before, late
}

// waitRedacted waits until user sees target deleted in room.
func waitRedacted(t *testing.T, user *testbed.Client, room id.RoomID, target id.EventID) {
	t.Helper()
	user.WaitForEvent(t, room, waitLong, func(evt *event.Event) bool {
		return evt.Type == event.EventRedaction && evt.Redacts == target
	})
}
