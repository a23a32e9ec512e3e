package bridge

import (
	"context"
	"slices"

	"github.com/rs/zerolog"
	"maunium.net/go/mautrix"
	"maunium.net/go/mautrix/event"
	"maunium.net/go/mautrix/id"
	"maunium.net/go/mautrix/sqlstatestore"

	"github.com/ferrybridge/ferry/bridge/readthrough"
)

// memberStateStore is mautrix's SQL state store with room memberships
// remembered in memory. A ghost's every message goes through
// IntentAPI.EnsureJoined, which asks the store whether the ghost is in
// the room: from IRC to Matrix that was a database read on the path
// before the message leaves, for an answer that almost never changes.
//
// Only what the database said is remembered, and only while it is sure to
// still be true. Memberships change in the database only through this
// store's methods (the homeserver's member events and the intents' own
// joins and leaves go through them, by mautrix.UpdateStateStore and the
// IntentAPI). Each writer forgets what it changes, before and after its
// write, and a read that raced a write is not kept (readthrough.Cache).
// Only reads fill the cache, so it holds the memberships Ferry asks about,
// the ghosts that speak; maxCachedMemberships bounds it all the same.
type memberStateStore struct {
	*sqlstatestore.SQLStateStore
	members *readthrough.Cache[memberKey, event.Membership]
}

var _ mautrix.StateStore = (*memberStateStore)(nil)

type memberKey struct {
	room id.RoomID
	user id.UserID
}

// maxCachedMemberships bounds the cache; past it, it starts over.
const maxCachedMemberships = 16384

func newMemberStateStore(store *sqlstatestore.SQLStateStore) *memberStateStore {
	return &memberStateStore{SQLStateStore: store, members: readthrough.New[memberKey, event.Membership](maxCachedMemberships)}
}

// GetMembership is the user's membership in the room; "leave" when the
// store knows none.
func (s *memberStateStore) GetMembership(ctx context.Context, roomID id.RoomID, userID id.UserID) (event.Membership, error) {
	return s.members.Get(memberKey{roomID, userID}, func() (event.Membership, bool, error) {
		membership, err := s.SQLStateStore.GetMembership(ctx, roomID, userID)
		return membership, true, err
	})
}

// IsMembership, IsInRoom and IsInvited answer from GetMembership above;
// the embedded store's would call its own.
func (s *memberStateStore) IsMembership(ctx context.Context, roomID id.RoomID, userID id.UserID, allowed ...event.Membership) bool {
	membership, err := s.GetMembership(ctx, roomID, userID)
	if err != nil {
		zerolog.Ctx(ctx).Err(err).Msg("Failed to get membership")
		return false
	}
	return slices.Contains(allowed, membership)
}

func (s *memberStateStore) IsInRoom(ctx context.Context, roomID id.RoomID, userID id.UserID) bool {
	return s.IsMembership(ctx, roomID, userID, event.MembershipJoin)
}

func (s *memberStateStore) IsInvited(ctx context.Context, roomID id.RoomID, userID id.UserID) bool {
	return s.IsMembership(ctx, roomID, userID, event.MembershipJoin, event.MembershipInvite)
}

func (s *memberStateStore) SetMembership(ctx context.Context, roomID id.RoomID, userID id.UserID, membership event.Membership) error {
	return s.members.Write(memberKey{roomID, userID}, func() error {
		return s.SQLStateStore.SetMembership(ctx, roomID, userID, membership)
	})
}

func (s *memberStateStore) SetMember(ctx context.Context, roomID id.RoomID, userID id.UserID, member *event.MemberEventContent) error {
	return s.members.Write(memberKey{roomID, userID}, func() error {
		return s.SQLStateStore.SetMember(ctx, roomID, userID, member)
	})
}

// ClearCachedMembers and ReplaceCachedMembers change a whole room's
// members; they are rare, so they forget every membership.
func (s *memberStateStore) ClearCachedMembers(ctx context.Context, roomID id.RoomID, memberships ...event.Membership) error {
	return s.members.WriteAll(func() error {
		return s.SQLStateStore.ClearCachedMembers(ctx, roomID, memberships...)
	})
}

func (s *memberStateStore) ReplaceCachedMembers(ctx context.Context, roomID id.RoomID, evts []*event.Event, onlyMemberships ...event.Membership) error {
	return s.members.WriteAll(func() error {
		return s.SQLStateStore.ReplaceCachedMembers(ctx, roomID, evts, onlyMemberships...)
	})
}
