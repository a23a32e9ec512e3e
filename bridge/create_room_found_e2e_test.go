package bridge_test

import (
	"slices"
	"testing"
	"time"

	"maunium.net/go/mautrix"
	"maunium.net/go/mautrix/event"
	"maunium.net/go/mautrix/id"

	"github.com/ferrybridge/ferry/internal/testbed"
)

// TestFoundRoomKeepsAJoinedInviteeJoined: the answer to a createRoom is
// lost, and before the retry finds the room alice, its invitee, has
// joined it, and Ferry has heard so. Recording the found room as a
// created one is (invitees invited) put alice back to "invite" in the
// state store, where it stayed: her join was the last event of hers.
func TestFoundRoomKeepsAJoinedInviteeJoined(t *testing.T) {
	s := newScene(t, true)
	ctx := s.h.Context(2 * time.Minute)
	store := s.h.Bridge.AS.StateStore
	known := s.alice.Invites()
	s.proxy.Inject("POST /_matrix/client/v3/createRoom", 1, testbed.Fault{LoseAnswer: true})
	// The retry's look for the room waits while alice joins.
	s.proxy.DelayNext("GET /_matrix/client/v3/joined_rooms", 1, 8*time.Second)

	type created struct {
		room id.RoomID
		err  error
	}
	done := make(chan created, 1)
	go func() {
		room, err := s.h.Bridge.Matrix.CreateRoom(ctx, &mautrix.ReqCreateRoom{
			Preset: "private_chat", Name: "found later", Invite: []id.UserID{s.alice.UserID},
		})
		done <- created{room, err}
	}()
	room := s.alice.WaitForInvite(t, waitLong, func(room id.RoomID, _ []*event.Event) bool {
		return !slices.Contains(known, room)
	})
	s.alice.Join(t, room.String())
	deadline := time.Now().Add(waitLong)
	for !store.IsInRoom(ctx, room, s.alice.UserID) {
		if time.Now().After(deadline) {
			t.Fatal("Ferry never heard of alice's join")
		}
		time.Sleep(50 * time.Millisecond)
	}

	got := <-done
	if got.err != nil {
		t.Fatal(got.err)
	}
	if got.room != room {
		t.Fatalf("CreateRoom answered %s; alice was invited to %s", got.room, room)
	}
	member, err := store.GetMember(ctx, room, s.alice.UserID)
	if err != nil {
		t.Fatal(err)
	}
	if member.Membership != event.MembershipJoin || !store.IsInRoom(ctx, room, s.alice.UserID) {
		t.Errorf("after the found room was recorded, the state store has alice as %q; she joined", member.Membership)
	}
}
