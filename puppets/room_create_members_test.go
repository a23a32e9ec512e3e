package puppets

import (
	"context"
	"testing"

	"github.com/rs/zerolog"
	"maunium.net/go/mautrix"
	"maunium.net/go/mautrix/event"
	"maunium.net/go/mautrix/id"

	"github.com/ferrybridge/ferry/internal/testbed"
)

// A room found after a lost createRoom answer has its members read from
// the homeserver (recordCreated). A membership Ferry hears from the
// homeserver between that read and its record in the store is newer
// than the read, and must stand: the read fills in only the members the
// store has no record of. Here the first invitee has joined, and the
// read has her joined, and then her leave is heard before the read is
// recorded: the store must have her gone, and the second invitee, of whom
// nothing was heard, invited.
func TestFoundRoomMembersDoNotOverwriteHeardOnes(t *testing.T) {
	hs, reg := testbed.StartDendriteForAppservice(t)
	setup := testbed.NewAppservice(t, reg, hs.URL)
	ctx := context.Background()
	alice := id.NewUserID("ferry_alice", "localhost")
	bob := id.NewUserID("ferry_bob", "localhost")
	req := &mautrix.ReqCreateRoom{Preset: "private_chat", Invite: []id.UserID{alice, bob}}
	room := testbed.CreateRoom(t, setup, req)
	if _, err := setup.Intent(alice).JoinRoomByID(ctx, room); err != nil {
		t.Fatal(err)
	}
	testbed.WaitForServerMembership(t, setup, room, alice, event.MembershipJoin)

	as := testbed.NewAppservice(t, reg, hs.URL)
	m := NewMatrix(as, zerolog.New(zerolog.NewTestWriter(t)))
	store := as.StateStore
	heard := false
	membersRead = func() {
		heard = true
		leave := &event.Event{
			ID: "$alice-left", Type: event.StateMember, RoomID: room, Sender: alice, StateKey: ptr(alice.String()),
			Content: event.Content{Parsed: &event.MemberEventContent{Membership: event.MembershipLeave}},
		}
		mautrix.UpdateStateStore(ctx, store, leave)
	}
	defer func() { membersRead = nil }()
	m.recordCreated(ctx, room, req)
	if !heard {
		t.Fatal("the members were never read")
	}
	for user, want := range map[id.UserID]event.Membership{alice: event.MembershipLeave, bob: event.MembershipInvite, m.BotMXID(): event.MembershipJoin} {
		member, err := store.GetMember(ctx, room, user)
		if err != nil {
			t.Fatal(err)
		}
		if member.Membership != want {
			t.Errorf("the store has %s as %q; want %q", user, member.Membership, want)
		}
	}
}

func ptr[T any](v T) *T { return &v }
