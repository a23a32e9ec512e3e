package portals

import (
	"context"
	"fmt"
	"runtime/debug"
	"time"

	"github.com/rs/zerolog"
	"maunium.net/go/mautrix/id"

	"github.com/ferrybridge/ferry/bridge/network"
)

// Member sync between the portal's items. A chat's member list can be
// long (an IRC channel of a thousand nicks, a WhatsApp group of a
// thousand people), and each new ghost costs the homeserver a
// registration, a profile and a join: about 50 ms on Dendrite here, and
// twice that while the room is invite-only. Joining them all inside the
// item that brought the list held every later message of the room, both
// ways, behind the whole list: 21 s for a channel of 200. So syncMembers only records whom the room should hold,
// and the portal's goroutine joins them one at a time whenever its queue
// is empty, then (for a full list) removes the ghosts no longer in the
// chat, also one at a time. A message that arrives meanwhile waits for
// the one request in progress, not for the list.
//
// The list is a snapshot, and the chat moves on while the portal works
// through it. What the portal's own items say about a member wins over
// it: one who leaves is not joined later from the list, and one who joins
// or speaks is kept when, at the end of a full list, the ghosts no longer
// in the chat leave the room.

// memberSync is a member list the portal is still working through. Only
// the portal's goroutine touches it.
type memberSync struct {
	// loginID is the login the list came through.
	loginID network.LoginID
	// full: the list is the whole chat, so ghosts not in it leave at the
	// end.
	full bool
	// todo holds the members still to join, in the list's order; an entry
	// no longer in pending was handled by an item meanwhile.
	todo    []network.UserID
	pending map[network.UserID]bool
	// want is every ghost that belongs in the room: the list's, and those
	// that joined or spoke since.
	want map[id.UserID]bool
	// departed are the ghosts to remove once the joins are done (a full
	// list's only), listed then: departedListed.
	departed       []id.UserID
	departedListed bool
	started        time.Time
	failed         int
}

// syncMembers brings the room's ghosts in line with the chat's members:
// power levels at once, joins between the portal's items (see above). A
// full list replaces one still in progress; a partial one (IRC sends the
// members whose modes changed) adds to it, so that a mode change in the
// middle of a channel's names list does not cut the list short.
func (p *Portal) syncMembers(ctx context.Context, login *network.Login, members *network.MemberList) {
	p.syncPowerLevels(ctx, login, members)
	s := p.memberSync
	if s == nil || members.IsFull {
		if s != nil {
			zerolog.Ctx(ctx).Debug().Int("left_undone", len(s.pending)).Msg("A newer member list replaces the one in progress")
		}
		s = &memberSync{
			loginID: login.ID,
			full:    members.IsFull,
			pending: make(map[network.UserID]bool, len(members.Members)),
			want:    make(map[id.UserID]bool, len(members.Members)),
			started: time.Now(),
		}
		p.memberSync = s
	}
	for _, member := range members.Members {
		if member.IsMe || s.pending[member.User] {
			continue
		}
		s.todo = append(s.todo, member.User)
		s.pending[member.User] = true
		s.want[p.m.ghosts.MXID(network.GhostKey{Network: p.Key.Network, User: member.User})] = true
	}
}

// memberSyncPending says whether a member list is still being worked
// through.
func (p *Portal) memberSyncPending() bool { return p.memberSync != nil }

// continueMemberSync works through the list, one request at a time: the
// members to join, then (for a full list) the ghosts no longer in the
// chat, to remove. It returns when an item or a stored backlog waits, the
// bridge stops, or the list is done. A panic ends the list, not the
// bridge.
func (p *Portal) continueMemberSync(ctx context.Context) {
	s := p.memberSync
	log := p.log.With().Str("action", "member sync").Logger()
	ctx = log.WithContext(ctx)
	defer func() {
		if r := recover(); r != nil {
			p.memberSync = nil
			log.Error().Any("panic", r).Str("stack", string(debug.Stack())).Msg("Panic in member sync")
		}
	}()
	for {
		if ctx.Err() != nil || len(p.queue) > 0 || p.backlogged() {
			// The bridge is stopping, or something waits. A list is not
			// kept across a stop: the ghosts it missed join when they next
			// act in the chat, or with the next list (IRC sends one at
			// every rejoin).
			return
		}
		// The login as the bridge has it now: a network saving its
		// metadata replaces the value, and that does not end the list.
		login := p.m.dir.Login(p.Key.Network, s.loginID)
		if p.RoomID == "" || login == nil {
			// The room or the login the list came through is gone; the
			// next list will come with whatever replaces them.
			log.Debug().Int("left_undone", len(s.pending)).Msg("Member list dropped: its room or login is gone")
			p.memberSync = nil
			return
		}
		if !p.memberSyncStep(ctx, s, login) {
			break
		}
	}
	p.memberSync = nil
	log.Debug().Int("members", len(s.want)).Int("failed", s.failed).
		Dur("took", time.Since(s.started)).Msg("Member list synced")
}

// memberSyncStep makes the list's next request, and says whether there is
// more to do.
func (p *Portal) memberSyncStep(ctx context.Context, s *memberSync, login *network.Login) bool {
	log := zerolog.Ctx(ctx)
	switch {
	case len(s.todo) > 0:
		user := s.todo[0]
		s.todo = s.todo[1:]
		if !s.pending[user] {
			return true // handled by an item meanwhile
		}
		delete(s.pending, user)
		if _, err := p.joinGhost(ctx, login, user); err != nil && ctx.Err() == nil {
			// Still a member: the ghost keeps its place if it has one.
			s.failed++
			log.Warn().Err(err).Str("remote_user", string(user)).Msg("Failed to join ghost")
		}
		return true
	case !s.full:
		return false
	case !s.departedListed:
		s.departedListed = true
		departed, err := p.departedGhosts(ctx, s.want)
		if err != nil {
			log.Warn().Err(err).Msg("Failed to remove departed ghosts")
			return false
		}
		s.departed = departed
		return len(departed) > 0
	case len(s.departed) > 0:
		ghost := s.departed[0]
		s.departed = s.departed[1:]
		// One who joined or spoke since the list came stays.
		if !s.want[ghost] {
			if _, err := p.m.matrix.Intent(ghost).LeaveRoom(ctx, p.RoomID); err != nil && ctx.Err() == nil {
				log.Warn().Err(err).Stringer("user_id", ghost).Msg("Failed to remove departed ghost")
			}
		}
		return len(s.departed) > 0
	default:
		return false
	}
}

// memberJoined records, for a list in progress, that the ghost of user
// is in the room: the list need not join it, and it stays.
func (p *Portal) memberJoined(user network.UserID, ghost id.UserID) {
	if s := p.memberSync; s != nil {
		delete(s.pending, user)
		s.want[ghost] = true
	}
}

// memberLeft records, for a list in progress, that user left the chat:
// the list must not bring the ghost back.
func (p *Portal) memberLeft(user network.UserID) {
	if s := p.memberSync; s != nil {
		delete(s.pending, user)
		delete(s.want, p.m.ghosts.MXID(network.GhostKey{Network: p.Key.Network, User: user}))
	}
}

// departedGhosts lists this network's ghosts that are in the room but not
// in want.
func (p *Portal) departedGhosts(ctx context.Context, want map[id.UserID]bool) ([]id.UserID, error) {
	joined, err := p.m.matrix.Bot().JoinedMembers(ctx, p.RoomID)
	if err != nil {
		return nil, fmt.Errorf("list room members: %w", err)
	}
	var departed []id.UserID
	for mxid := range joined.Joined {
		if want[mxid] {
			continue
		}
		if key, ok := p.m.ghosts.ParseMXID(mxid); ok && key.Network == p.Key.Network {
			departed = append(departed, mxid)
		}
	}
	return departed, nil
}
