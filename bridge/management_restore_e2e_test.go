package bridge_test

import (
	"testing"
	"time"

	"maunium.net/go/mautrix"
	"maunium.net/go/mautrix/id"

	"github.com/ferrybridge/ferry/internal/ferrytest"
	"github.com/ferrybridge/ferry/internal/testbed"
	"github.com/ferrybridge/ferry/internal/testnet"
)

// displacedManagementRoom makes alice's management room first, then a
// newer direct chat with the bot (second) her management room, and waits
// until first is told so.
func displacedManagementRoom(t *testing.T) (h *ferrytest.Harness, alice, bob *testbed.Client, first, second id.RoomID) {
	t.Helper()
	h = ferrytest.Start(t, ferrytest.Options{}, testnet.New())
	alice, bob = h.User("alice"), h.User("bob")
	first = h.ManagementRoom(alice)
	second = h.ManagementRoom(alice)
	h.WaitForBotNotice(alice, first, "not your management room any more")
	return h, alice, bob, first, second
}

// TestSharingANewerManagementRoomGivesTheEarlierOneBack: a room made with
// the bot and someone else invited at once can look like a direct chat to
// the bot when it joins, and displace the management room, the other
// invite coming just after. That invite made the new room a shared one,
// and alice was left with no management room: her old direct chat with
// the bot answered only prefixed commands. The same when she shares the
// newer room on purpose. Her earlier direct chat is hers again, and both
// rooms say so.
func TestSharingANewerManagementRoomGivesTheEarlierOneBack(t *testing.T) {
	h, alice, bob, first, second := displacedManagementRoom(t)
	ctx := h.Context(time.Minute)
	if _, err := alice.InviteUser(ctx, second, &mautrix.ReqInviteUser{UserID: bob.UserID}); err != nil {
		t.Fatal(err)
	}
	h.WaitForBotNotice(alice, second, "again")
	h.WaitForBotNotice(alice, first, "This is your management room again")
	if room, err := h.Bridge.ManagementRoom(ctx, alice.UserID); err != nil || room != first {
		t.Errorf("management room after sharing the newer one: %q (%v); want the earlier %q", room, err, first)
	}
	h.Command(alice, first, "version", "Ferry ")
}

// TestAnEarlierRoomSharedMeanwhileIsNotGivenBack: the earlier room is
// given back only while it is still a direct chat with the bot.
func TestAnEarlierRoomSharedMeanwhileIsNotGivenBack(t *testing.T) {
	h, alice, bob, first, second := displacedManagementRoom(t)
	ctx := h.Context(time.Minute)
	// The homeserver has bob's invite to first before the one to
	// second: the bot reads first's members from it.
	for _, room := range []id.RoomID{first, second} {
		if _, err := alice.InviteUser(ctx, room, &mautrix.ReqInviteUser{UserID: bob.UserID}); err != nil {
			t.Fatal(err)
		}
	}
	h.WaitForBotNotice(alice, second, "Invite me to a direct chat")
	if room, err := h.Bridge.ManagementRoom(ctx, alice.UserID); err != nil || room != "" {
		t.Errorf("management room: %q (%v); want none, the earlier room being shared", room, err)
	}
}
