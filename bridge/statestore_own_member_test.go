package bridge

import (
	"context"
	"testing"
	"time"

	"maunium.net/go/mautrix"
	"maunium.net/go/mautrix/event"
	"maunium.net/go/mautrix/id"

	"github.com/ferrybridge/ferry/database"
	"github.com/ferrybridge/ferry/internal/dbtest"
)

func memberEvent(evtID id.EventID, membership event.Membership, at time.Time) *event.Event {
	key := stateGhost.String()
	evt := &event.Event{ID: evtID, Sender: stateGhost, RoomID: stateRoom, Type: event.StateMember, StateKey: &key, Timestamp: at.UnixMilli()}
	evt.Content.Parsed = &event.MemberEventContent{Membership: membership}
	return evt
}

func storedMembership(t *testing.T, store *memberStateStore) event.Membership {
	t.Helper()
	member, err := store.GetMember(context.Background(), stateRoom, stateGhost)
	if err != nil {
		t.Fatal(err)
	}
	if cached := store.IsMembership(context.Background(), stateRoom, stateGhost, member.Membership); !cached {
		t.Errorf("the cache does not answer the stored %q", member.Membership)
	}
	return member.Membership
}

// TestOwnMembershipKeepsTheHomeserversOrder: memberships Ferry changes
// through mautrix, recorded with no event, end in the store as the room
// has them, whether the older events, the echo or newer events come
// first.
func TestOwnMembershipKeepsTheHomeserversOrder(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *database.Database) {
		ctx := context.Background()
		store, _ := stateStores(t, db)
		now := time.Now()
		mautrix.UpdateStateStore(ctx, store, memberEvent("$leave0", event.MembershipLeave, now.Add(-time.Minute)))

		// A join mautrix records (IntentAPI.JoinRoomByID); a kick of the
		// ghost from before it comes before its echo.
		if err := store.SetMembership(ctx, stateRoom, stateGhost, event.MembershipJoin); err != nil {
			t.Fatal(err)
		}
		mautrix.UpdateStateStore(ctx, store, memberEvent("$kick", event.MembershipLeave, now.Add(-time.Second)))
		if got := storedMembership(t, store); got != event.MembershipJoin {
			t.Fatalf("after a leave older than Ferry's join: %q, want join", got)
		}
		mautrix.UpdateStateStore(ctx, store, memberEvent("$join1", event.MembershipJoin, time.Now()))
		mautrix.UpdateStateStore(ctx, store, memberEvent("$leave1", event.MembershipLeave, time.Now()))
		if got := storedMembership(t, store); got != event.MembershipLeave {
			t.Fatalf("after a leave after the join's echo: %q, want leave", got)
		}

		// A leave event mautrix records without its ID (Matrix.Leave with
		// a reason); an older invite comes before its echo.
		if err := store.SetMembership(ctx, stateRoom, stateGhost, event.MembershipJoin); err != nil {
			t.Fatal(err)
		}
		mautrix.UpdateStateStore(ctx, store, memberEvent("$join2", event.MembershipJoin, time.Now()))
		mautrix.UpdateStateStore(ctx, store, memberEvent("", event.MembershipLeave, time.Time{}))
		mautrix.UpdateStateStore(ctx, store, memberEvent("$invite", event.MembershipInvite, time.Now()))
		if got := storedMembership(t, store); got != event.MembershipLeave {
			t.Fatalf("after an invite older than Ferry's leave: %q, want leave", got)
		}
		mautrix.UpdateStateStore(ctx, store, memberEvent("$leave2", event.MembershipLeave, time.Now()))

		// Echo first: the record finds the membership in the store, and
		// waits for nothing; what comes next counts.
		mautrix.UpdateStateStore(ctx, store, memberEvent("$join3", event.MembershipJoin, time.Now()))
		if err := store.SetMembership(ctx, stateRoom, stateGhost, event.MembershipJoin); err != nil {
			t.Fatal(err)
		}
		mautrix.UpdateStateStore(ctx, store, memberEvent("$ban", event.MembershipBan, time.Now()))
		if got := storedMembership(t, store); got != event.MembershipBan {
			t.Fatalf("after a ban after the join's echo: %q, want ban", got)
		}

		// No echo to come (the change was a no-op the store did not
		// know of): an event made well after it counts.
		if err := store.SetMembership(ctx, stateRoom, stateGhost, event.MembershipInvite); err != nil {
			t.Fatal(err)
		}
		mautrix.UpdateStateStore(ctx, store, memberEvent("$later", event.MembershipLeave, time.Now().Add(2*ownMemberSlack)))
		if got := storedMembership(t, store); got != event.MembershipLeave {
			t.Fatalf("after a leave made well after Ferry's unechoed invite: %q, want leave", got)
		}
	})
}
