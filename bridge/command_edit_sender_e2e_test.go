package bridge_test

import (
	"testing"
	"time"

	"maunium.net/go/mautrix"
	"maunium.net/go/mautrix/id"

	"github.com/ferrybridge/ferry/internal/ferrytest"
	"github.com/ferrybridge/ferry/internal/testnet"
)

// TestEditByAnotherSenderDoesNotRun: an edit counts only from the
// sender of the message it edits (clients ignore any other), so bob's
// "correction" of alice's unknown command does not run, as alice's
// own correction still does.
func TestEditByAnotherSenderDoesNotRun(t *testing.T) {
	h := ferrytest.Start(t, ferrytest.Options{}, testnet.New())
	alice, bob := h.User("alice"), h.User("bob")
	resp, err := alice.CreateRoom(h.Context(time.Minute), &mautrix.ReqCreateRoom{Preset: "public_chat", Invite: []id.UserID{h.BotMXID, bob.UserID}})
	if err != nil {
		t.Fatal(err)
	}
	room := resp.RoomID
	h.WaitForBotNotice(alice, room, "not your management room")
	bob.Join(t, room.String())

	before := ferrytest.Seen(alice, room)
	typo := alice.SendText(t, room, "!ferry verison")
	h.WaitForBotNoticeExcept(alice, room, "Unknown command `verison`", before)
	before = ferrytest.Seen(alice, room)
	editMessage(t, h, bob, room, typo, "!ferry version")
	// Commands in a room are answered in turn: once this is, bob's edit was handled.
	alice.SendText(t, room, "!ferry help")
	h.WaitForBotNoticeExcept(alice, room, "**Commands**", before)
	if ran := botSaidSince(h, alice, room, before, "Ferry "); len(ran) > 0 {
		t.Errorf("another sender's edit ran as the correction: %q", ran)
	}

	before = ferrytest.Seen(alice, room)
	editMessage(t, h, alice, room, typo, "!ferry version")
	h.WaitForBotNoticeExcept(alice, room, "Ferry ", before)
}
