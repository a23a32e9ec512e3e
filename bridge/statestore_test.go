package bridge

import (
	"context"
	"strconv"
	"testing"

	"github.com/rs/zerolog"
	"go.mau.fi/util/dbutil"
	"maunium.net/go/mautrix/event"
	"maunium.net/go/mautrix/id"
	"maunium.net/go/mautrix/sqlstatestore"

	"github.com/ferrybridge/ferry/database"
	"github.com/ferrybridge/ferry/internal/dbtest"
	"github.com/ferrybridge/ferry/internal/hammer"
	"github.com/ferrybridge/ferry/internal/pgtest"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

const (
	stateRoom  = id.RoomID("!room:example.org")
	stateGhost = id.UserID("@irc_bob:example.org")
)

// stateStores are the caching store and, beside it, a plain one on the
// same database: it writes behind the cache's back, as nothing in Ferry
// does, to show what the cache answers from.
func stateStores(t *testing.T, db *database.Database) (*memberStateStore, *sqlstatestore.SQLStateStore) {
	t.Helper()
	plain := sqlstatestore.NewSQLStateStore(db.Database, dbutil.ZeroLogger(zerolog.Nop()), false)
	if err := plain.Upgrade(context.Background()); err != nil {
		t.Fatal(err)
	}
	return newMemberStateStore(plain), plain
}

func TestMemberStateStoreFollowsItsWrites(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *database.Database) {
		ctx := context.Background()
		store, plain := stateStores(t, db)
		if store.IsInRoom(ctx, stateRoom, stateGhost) {
			t.Fatal("in the room before joining")
		}
		if err := store.SetMembership(ctx, stateRoom, stateGhost, event.MembershipJoin); err != nil {
			t.Fatal(err)
		}
		if !store.IsInRoom(ctx, stateRoom, stateGhost) {
			t.Fatal("not in the room after joining")
		}
		// The answer now comes from memory: a change behind the store's
		// back is not seen...
		if err := plain.SetMembership(ctx, stateRoom, stateGhost, event.MembershipLeave); err != nil {
			t.Fatal(err)
		}
		if !store.IsInRoom(ctx, stateRoom, stateGhost) {
			t.Fatal("a repeated question went to the database")
		}
		// ...while every write through the store is.
		leave := &event.MemberEventContent{Membership: event.MembershipLeave}
		if err := store.SetMember(ctx, stateRoom, stateGhost, leave); err != nil {
			t.Fatal(err)
		}
		if store.IsInRoom(ctx, stateRoom, stateGhost) || store.IsInvited(ctx, stateRoom, stateGhost) {
			t.Error("still in the room after the member event of a leave")
		}
		if err := store.SetMember(ctx, stateRoom, stateGhost, &event.MemberEventContent{Membership: event.MembershipInvite}); err != nil {
			t.Fatal(err)
		}
		if store.IsInRoom(ctx, stateRoom, stateGhost) || !store.IsInvited(ctx, stateRoom, stateGhost) {
			t.Error("an invite was not taken as one")
		}

		// A whole room's members replaced or cleared.
		joined := event.MembershipJoin
		key := string(stateGhost)
		members := []*event.Event{{
			Type: event.StateMember, StateKey: &key, RoomID: stateRoom,
			Content: event.Content{Parsed: &event.MemberEventContent{Membership: joined}},
		}}
		if err := store.ReplaceCachedMembers(ctx, stateRoom, members); err != nil {
			t.Fatal(err)
		}
		if !store.IsInRoom(ctx, stateRoom, stateGhost) {
			t.Error("not in the room after the members were replaced")
		}
		if err := store.ClearCachedMembers(ctx, stateRoom); err != nil {
			t.Fatal(err)
		}
		if store.IsInRoom(ctx, stateRoom, stateGhost) {
			t.Error("still in the room after the members were cleared")
		}
	})
}

// A question answered while a write changes the answer must not leave
// the old answer behind.
func TestMemberStateStoreReadRacingAWrite(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *database.Database) {
		ctx := context.Background()
		store, _ := stateStores(t, db)
		for i := range 50 {
			if err := store.SetMembership(ctx, stateRoom, stateGhost, event.MembershipJoin); err != nil {
				t.Fatal(err)
			}
			stop := hammer.Start(2, func() { store.IsInRoom(ctx, stateRoom, stateGhost) })
			if err := store.SetMembership(ctx, stateRoom, stateGhost, event.MembershipLeave); err != nil {
				t.Fatal(err)
			}
			if store.IsInRoom(ctx, stateRoom, stateGhost) {
				t.Errorf("round %d: in the room right after leaving", i)
			}
			stop()
			if store.IsInRoom(ctx, stateRoom, stateGhost) {
				t.Errorf("round %d: in the room after the lookups ended", i)
			}
		}
	})
}

func TestMemberStateStoreIsBounded(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *database.Database) {
		ctx := context.Background()
		store, _ := stateStores(t, db)
		for i := range maxCachedMemberships + 10 {
			store.IsInRoom(ctx, id.RoomID("!r"+string(rune('a'+i%26))+":example.org"), id.UserID("@u"+strconv.Itoa(i)+":example.org"))
		}
		n := store.members.Len()
		if n > maxCachedMemberships {
			t.Errorf("%d memberships cached; the bound is %d", n, maxCachedMemberships)
		}
	})
}
