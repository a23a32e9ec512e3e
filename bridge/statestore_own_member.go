package bridge

import (
	"context"
	"time"

	"github.com/rs/zerolog"
	"maunium.net/go/mautrix/event"
	"maunium.net/go/mautrix/id"
)

// Memberships Ferry changes through mautrix (a ghost's join, the bot's
// invites and kicks, a leave) are recorded at once, as state changes
// are, but without an event: the homeserver's answer to a join, invite
// or kick names none, and mautrix's record of a membership event Ferry
// sends drops its ID. So an older membership event of the same user on
// its way to Ferry (a ghost's kick from before Ferry brought it back)
// would undo the change in the store until its echo came, and Ferry would
// decide by it whether a ghost must join, or a user be invited.
//
// Such a change waits for its echo by membership: the first event of the
// user's membership with the same membership is its echo (or the event
// that had made the change a no-op, still on its way). Events with
// another membership before it are older, unless their time is later
// than the change by more than ownMemberSlack: a change that had nothing
// left to echo (the event that made it a no-op came before Ferry recorded
// it) must not hide what happens to the membership next for long.

// ownMemberSlack is how much later than Ferry's record of its membership
// change another membership event must be made to count as newer without
// an echo: the homeserver's clock and Ferry's may differ a little.
const ownMemberSlack = 10 * time.Second

// ownMembershipLocked notes a membership Ferry changed, before it is
// written; the room's lock is held (memberStateStore.roomLock). A
// membership the store has already (its echo came first, or a repeated
// record) waits for nothing.
func (s *memberStateStore) ownMembershipLocked(ctx context.Context, room id.RoomID, user id.UserID, membership event.Membership) {
	key := stateKey{room, event.StateMember.Type, user.String()}
	current, err := s.GetMembership(ctx, room, user)
	if err != nil {
		zerolog.Ctx(ctx).Debug().Err(err).Msg("Failed to read a membership Ferry changes; taking it as a change")
	} else if current == membership {
		return
	}
	s.own.mu.Lock()
	defer s.own.mu.Unlock()
	s.own.pruneLocked()
	s.own.pending[key] = ownChange{membership: membership, at: time.Now()}
}

// olderThanOwnMembership reports whether evt, a membership event of the
// user whose membership change waits as change, is older than it.
func olderThanOwnMembership(evt *event.Event, change ownChange) bool {
	if evt.Content.AsMember().Membership == change.membership || time.Since(change.at) >= ownEchoWait {
		return false
	}
	return !time.UnixMilli(evt.Timestamp).After(change.at.Add(ownMemberSlack))
}
