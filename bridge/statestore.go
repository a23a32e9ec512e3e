package bridge

import (
	"context"
	"fmt"
	"hash/maphash"
	"slices"
	"sync"
	"time"

	"github.com/rs/zerolog"
	"maunium.net/go/mautrix"
	"maunium.net/go/mautrix/event"
	"maunium.net/go/mautrix/id"
	"maunium.net/go/mautrix/sqlstatestore"

	"github.com/ferrybridge/ferry/bridge/readthrough"
	"github.com/ferrybridge/ferry/puppets"
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
	own     ownState
	// rooms serialise the changes of one room's state in the store: a
	// change is read, decided on and written under its room's lock
	// (roomLock), so that none of the same room comes in between. Rooms
	// share a lock only by their hash, so one room's database round
	// trips do not hold up the rest of the bridge's joins and invites.
	rooms [roomLockStripes]sync.Mutex
}

// roomLockStripes is how many locks the rooms are spread over: many
// against the database connections that could write at once, few
// against memory.
const roomLockStripes = 64

// roomLock is the lock of room's state changes. It is taken before
// s.own.mu, never after.
func (s *memberStateStore) roomLock(room id.RoomID) *sync.Mutex {
	return &s.rooms[maphash.String(roomLockSeed, string(room))%roomLockStripes]
}

var roomLockSeed = maphash.MakeSeed()

var (
	_ mautrix.StateStore        = (*memberStateStore)(nil)
	_ mautrix.StateStoreUpdater = (*memberStateStore)(nil)
	_ puppets.OwnStateStore     = (*memberStateStore)(nil)
	_ puppets.MemberFiller      = (*memberStateStore)(nil)
)

type memberKey struct {
	room id.RoomID
	user id.UserID
}

// maxCachedMemberships bounds the cache; past it, it starts over.
const maxCachedMemberships = 16384

func newMemberStateStore(store *sqlstatestore.SQLStateStore) *memberStateStore {
	return &memberStateStore{
		SQLStateStore: store,
		members:       readthrough.New[memberKey, event.Membership](maxCachedMemberships),
		own:           ownState{pending: make(map[stateKey]ownChange), seen: make(map[id.EventID]struct{})},
	}
}

// ownState keeps Ferry's own state changes from being undone by older
// events. A change Ferry sends is in the store as soon as the homeserver
// accepts it (puppets.Matrix.SendState); the events of the room then
// come to Ferry in the room's order (putTransaction applies their state
// as they come), and Ferry's change among them as its echo. An event of
// someone else's for the same state that comes before that echo is older
// than Ferry's change, and applied, it would stand in the store until the
// echo came (a transaction later, or, while Dendrite backs off a failed
// transaction, a minute later), for Ferry to build its next power levels
// on, or decide who to invite by.
type ownState struct {
	// mu guards the maps below only; the changes they decide on are
	// serialised by their room's lock (memberStateStore.roomLock).
	mu sync.Mutex
	// pending are Ferry's changes whose echo has not come yet, the last
	// for each piece of state.
	pending map[stateKey]ownChange
	// seen are the IDs of the last state events that came in, in case an
	// echo comes before the answer to its send (seenOrder keeps the ring).
	seen      map[id.EventID]struct{}
	seenOrder [ownSeenRing]id.EventID
	seenNext  int
}

type stateKey struct {
	room     id.RoomID
	evtType  string
	stateKey string
}

type ownChange struct {
	// event is the change's event; "" for a membership mautrix records
	// without one, whose membership is then the change
	// (statestore_own_member.go).
	event      id.EventID
	membership event.Membership
	at         time.Time
}

const (
	// ownSeenRing is how many incoming state event IDs are remembered:
	// an echo comes milliseconds before the answer to its send, at most.
	ownSeenRing = 256
	// ownEchoWait bounds how long others' events for a piece of state
	// are taken as older than Ferry's pending change, should its echo
	// never come (a homeserver that does not send the appservice its own
	// users' events; Dendrite and Synapse do).
	ownEchoWait = 5 * time.Minute
)

// UpdateState records a state event that came from the homeserver, or
// that mautrix records (for a request it made: then it has no ID, and it
// is recorded as before; a membership then is Ferry's own change, see
// statestore_own_member.go). mautrix.UpdateStateStore calls it.
func (s *memberStateStore) UpdateState(ctx context.Context, evt *event.Event) {
	if evt.ID == "" && evt.Type == event.StateMember && evt.StateKey != nil {
		// mautrix's record of a membership event Ferry sent.
		lock := s.roomLock(evt.RoomID)
		lock.Lock()
		defer lock.Unlock()
		s.ownMembershipLocked(ctx, evt.RoomID, id.UserID(*evt.StateKey), evt.Content.AsMember().Membership)
		s.apply(ctx, evt)
		return
	}
	if evt.ID == "" || evt.StateKey == nil {
		s.apply(ctx, evt)
		return
	}
	lock := s.roomLock(evt.RoomID)
	lock.Lock()
	defer lock.Unlock()
	if !s.own.admit(ctx, evt) {
		return
	}
	s.apply(ctx, evt)
}

// admit notes evt, a state event with an ID that came in, and says
// whether it is to be recorded: not if it is older than Ferry's own
// change of the same state, whose echo has not come yet. Its room's
// lock is held.
func (o *ownState) admit(ctx context.Context, evt *event.Event) bool {
	key := stateKey{evt.RoomID, evt.Type.Type, *evt.StateKey}
	o.mu.Lock()
	defer o.mu.Unlock()
	o.noteSeenLocked(evt.ID)
	change, ok := o.pending[key]
	if !ok {
		return true
	}
	if change.event == "" {
		if olderThanOwnMembership(evt, change) {
			zerolog.Ctx(ctx).Debug().Stringer("event_id", evt.ID).Str("own_membership", string(change.membership)).
				Msg("Not recording a membership event older than Ferry's own change")
			return false
		}
	} else if evt.ID != change.event && time.Since(change.at) < ownEchoWait {
		zerolog.Ctx(ctx).Debug().Stringer("event_id", evt.ID).Stringer("newer_event_id", change.event).
			Msg("Not recording a state event older than Ferry's own change")
		return false
	}
	delete(o.pending, key) // its echo
	return true
}

// UpdateOwnState records a state event Ferry has sent, by its ID, and
// takes the others' events for the same state that come before its echo
// as older ones.
func (s *memberStateStore) UpdateOwnState(ctx context.Context, evt *event.Event) {
	if evt.ID == "" || evt.StateKey == nil {
		s.apply(ctx, evt)
		return
	}
	lock := s.roomLock(evt.RoomID)
	lock.Lock()
	defer lock.Unlock()
	s.own.mu.Lock()
	if _, ok := s.own.seen[evt.ID]; ok {
		// The echo came first: it, and whatever came after it, is in.
		s.own.mu.Unlock()
		return
	}
	s.own.pruneLocked()
	s.own.pending[stateKey{evt.RoomID, evt.Type.Type, *evt.StateKey}] = ownChange{event: evt.ID, at: time.Now()}
	s.own.mu.Unlock()
	s.apply(ctx, evt)
}

// pruneLocked forgets the changes whose echo is overdue, once there are
// many.
func (o *ownState) pruneLocked() {
	if len(o.pending) < ownSeenRing {
		return
	}
	for key, change := range o.pending {
		if time.Since(change.at) >= ownEchoWait {
			delete(o.pending, key)
		}
	}
}

func (o *ownState) noteSeenLocked(evt id.EventID) {
	if _, ok := o.seen[evt]; ok {
		return
	}
	delete(o.seen, o.seenOrder[o.seenNext])
	o.seenOrder[o.seenNext] = evt
	o.seenNext = (o.seenNext + 1) % ownSeenRing
	o.seen[evt] = struct{}{}
}

// apply records evt as mautrix.UpdateStateStore does for a store that is
// no StateStoreUpdater, through this store's methods.
func (s *memberStateStore) apply(ctx context.Context, evt *event.Event) {
	mautrix.UpdateStateStore(ctx, plainStateStore{s}, evt)
}

// plainStateStore hides the store's UpdateState from
// mautrix.UpdateStateStore.
type plainStateStore struct{ mautrix.StateStore }

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

// SetMembership is how mautrix records a membership Ferry changed (a
// join, invite, kick, leave), which it has no event for.
func (s *memberStateStore) SetMembership(ctx context.Context, roomID id.RoomID, userID id.UserID, membership event.Membership) error {
	lock := s.roomLock(roomID)
	lock.Lock()
	defer lock.Unlock()
	s.ownMembershipLocked(ctx, roomID, userID, membership)
	return s.members.Write(memberKey{roomID, userID}, func() error {
		return s.SQLStateStore.SetMembership(ctx, roomID, userID, membership)
	})
}

// FillMembers records the members of room in members (a list read from
// the homeserver) that the store has no record of, and leaves the others
// as they are: what the store heard of them is as new as the list, or
// newer (puppets' recordCreated). The room's lock is held throughout, as
// by every writer of a membership event that came in (UpdateState), so
// that none is heard between a member's look-up here and its record.
func (s *memberStateStore) FillMembers(ctx context.Context, roomID id.RoomID, members []*event.Event) error {
	lock := s.roomLock(roomID)
	lock.Lock()
	defer lock.Unlock()
	for _, evt := range members {
		member, ok := evt.Content.Parsed.(*event.MemberEventContent)
		if !ok || evt.StateKey == nil {
			continue
		}
		user := id.UserID(*evt.StateKey)
		known, err := s.SQLStateStore.TryGetMember(ctx, roomID, user)
		if err != nil {
			return fmt.Errorf("read %s's membership: %w", user, err)
		}
		if known != nil {
			continue
		}
		if err = s.SetMember(ctx, roomID, user, member); err != nil {
			return fmt.Errorf("record %s's membership: %w", user, err)
		}
	}
	return nil
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
