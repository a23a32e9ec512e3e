package bridge_test

import (
	"testing"
	"time"

	"maunium.net/go/mautrix"
	"maunium.net/go/mautrix/event"

	"github.com/ferrybridge/ferry/internal/ferrytest"
)

// TestOwnMembershipIsNotUndoneByAnOlderEvent: alice (a moderator) kicks
// bob's ghost; before her kick reaches Ferry, Ferry invites the ghost
// back and it joins, which mautrix records in the state store at once,
// with no event. Alice's older kick then arrives before the echoes of
// the invite and the join: the state store must keep the ghost joined,
// as it is in the room.
func TestOwnMembershipIsNotUndoneByAnOlderEvent(t *testing.T) {
	s, gate, room := gatedPortal(t, true)
	ctx := s.h.Context(2 * time.Minute)
	store := s.h.Bridge.AS.StateStore

	gate.close()
	defer gate.open()
	if _, err := s.alice.KickUser(ctx, room, &mautrix.ReqKickUser{UserID: s.bob, Reason: "older"}); err != nil {
		t.Fatal(err)
	}
	kickEvt := s.alice.WaitForMembership(t, room, s.bob, event.MembershipLeave, waitLong)
	held := gate.waitFor(t, kickEvt.ID.String())
	seen := ferrytest.Seen(s.alice, room)
	// Ferry brings the ghost back, after the kick; Dendrite keeps the
	// echoes for the next transactions, behind the held one.
	if _, err := s.h.Bridge.Matrix.Bot().InviteUser(ctx, room, &mautrix.ReqInviteUser{UserID: s.bob}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.h.Bridge.AS.Intent(s.bob).JoinRoomByID(ctx, room); err != nil {
		t.Fatal(err)
	}
	joinEvt := s.alice.WaitForEvent(t, room, waitLong, func(evt *event.Event) bool {
		return !seen[evt.ID] && evt.Type == event.StateMember && evt.GetStateKey() == s.bob.String() &&
			evt.Content.AsMember().Membership == event.MembershipJoin
	})
	close(held.pass)
	<-held.done // Ferry has taken alice's kick

	membership := func() event.Membership {
		t.Helper()
		member, err := store.GetMember(ctx, room, s.bob)
		if err != nil {
			t.Fatal(err)
		}
		if !store.IsInRoom(ctx, room, s.bob) && member.Membership == event.MembershipJoin {
			t.Error("the state store's cache and database disagree")
		}
		return member.Membership
	}
	if m := membership(); m != event.MembershipJoin {
		t.Errorf("before Ferry's echoes, the state store has bob's ghost as %q; in the room it is joined (Ferry's join is the newest)", m)
	}
	echo := gate.waitFor(t, joinEvt.ID.String())
	close(echo.pass)
	<-echo.done
	if m := membership(); m != event.MembershipJoin {
		t.Errorf("after Ferry's echoes, the state store has bob's ghost as %q; want join", m)
	}
}
