package bridge_test

import (
	"testing"
	"time"

	"maunium.net/go/mautrix"
	"maunium.net/go/mautrix/event"
	"maunium.net/go/mautrix/id"

	"github.com/ferrybridge/ferry/internal/ferrytest"
	"github.com/ferrybridge/ferry/internal/testbed"
	"github.com/ferrybridge/ferry/internal/testnet"
)

// loginStoppedOnceShared lets share bring someone else into room, where
// a login asks alice for a password, and checks that the login stops
// with a word why, and that a password she types there afterwards is
// taken by no login.
func loginStoppedOnceShared(t *testing.T, h *ferrytest.Harness, alice *testbed.Client, room id.RoomID, share func()) {
	t.Helper()
	before := ferrytest.Seen(alice, room)
	share()
	h.WaitForBotNoticeExcept(alice, room, "stopped your Testnet login", before)
	alice.SendText(t, room, "hunter2")
	h.Command(alice, room, "!ferry version", "Ferry ")
	if said := botSaidSince(h, alice, room, before, "Logged in"); len(said) != 0 {
		t.Errorf("a password typed in a shared room logged in: %q", said)
	}
	if said := botSaidSince(h, alice, room, before, "hunter2"); len(said) != 0 {
		t.Errorf("the bot showed the password back: %q", said)
	}
}

// sharedLoginScene is alice, bob and a bridge with the test network.
func sharedLoginScene(t *testing.T) (h *ferrytest.Harness, alice, bob *testbed.Client, invite func(id.RoomID) func()) {
	h = ferrytest.Start(t, ferrytest.Options{}, testnet.New())
	alice, bob = h.User("alice"), h.User("bob")
	invite = func(room id.RoomID) func() {
		return func() {
			if _, err := alice.InviteUser(h.Context(time.Minute), room, &mautrix.ReqInviteUser{UserID: bob.UserID}); err != nil {
				t.Fatal(err)
			}
		}
	}
	return h, alice, bob, invite
}

// A login asking for a password in the room it started in stops when
// someone else is invited into that room or joins it: the password would
// be typed in front of them. Before, the login went on asking there, and
// took the answer.

// TestLoginStopsWhenItsRoomIsSharedByInvite: alice invites bob into her
// management room while a login there asks for her password.
func TestLoginStopsWhenItsRoomIsSharedByInvite(t *testing.T) {
	h, alice, _, invite := sharedLoginScene(t)
	mgmt := h.ManagementRoom(alice)
	h.Command(alice, mgmt, "login test carol", "password")
	loginStoppedOnceShared(t, h, alice, mgmt, invite(mgmt))
}

// TestLoginStopsWhenItsEarlierRoomIsShared: the login asks in an earlier
// management room (a newer DM took its place), where its answer is
// still taken (login_rooms.go); alice invites bob into it.
func TestLoginStopsWhenItsEarlierRoomIsShared(t *testing.T) {
	h, alice, _, invite := sharedLoginScene(t)
	first := h.ManagementRoom(alice)
	h.Command(alice, first, "login test carol", "password")
	h.ManagementRoom(alice)
	h.WaitForBotNotice(alice, first, "not your management room any more")
	loginStoppedOnceShared(t, h, alice, first, invite(first))
}

// TestLoginStopsWhenSomeoneJoinsItsRoom: alice's management room may be
// joined by the members of another room (join rules "restricted", as a
// room in a space), and bob, one of them, joins it uninvited. It is her
// management room no more either. (A login does not start in a public
// room: see TestLoginRefusedInARoomAlreadyPublic.)
func TestLoginStopsWhenSomeoneJoinsItsRoom(t *testing.T) {
	h, alice, bob, _ := sharedLoginScene(t)
	ctx := h.Context(time.Minute)
	space, err := alice.CreateRoom(ctx, &mautrix.ReqCreateRoom{Preset: "public_chat"})
	if err != nil {
		t.Fatal(err)
	}
	bob.Join(t, space.RoomID.String())
	empty := ""
	resp, err := alice.CreateRoom(ctx, &mautrix.ReqCreateRoom{
		Preset: "private_chat", Invite: []id.UserID{h.BotMXID}, RoomVersion: "10",
		InitialState: []*event.Event{{
			Type: event.StateJoinRules, StateKey: &empty,
			Content: event.Content{Parsed: &event.JoinRulesEventContent{
				JoinRule: event.JoinRuleRestricted,
				Allow:    []event.JoinRuleAllow{{Type: event.JoinRuleAllowRoomMembership, RoomID: space.RoomID}},
			}},
		}},
	})
	if err != nil {
		t.Fatal(err)
	}
	room := resp.RoomID
	h.WaitForBotNotice(alice, room, "This is your management room")
	h.Command(alice, room, "login test carol", "password")
	loginStoppedOnceShared(t, h, alice, room, func() { bob.Join(t, room.String()) })
	h.WaitForBotNotice(alice, room, "not your management room any more")
	if mgmt, err := h.Bridge.ManagementRoom(ctx, alice.UserID); err != nil || mgmt == room {
		t.Errorf("management room after bob joined it: %q (%v); want none", mgmt, err)
	}
}
