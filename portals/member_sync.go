package portals

import (
	"context"
	"fmt"
	"runtime/debug"
	"time"

	"github.com/rs/zerolog"
	"maunium.net/go/mautrix"
	"maunium.net/go/mautrix/event"
	"maunium.net/go/mautrix/id"

	"github.com/ferrybridge/ferry/bridge/network"
)

// Membership between the portal's items. A chat's member list can be
// long (an IRC channel of a thousand nicks, a WhatsApp group of a
// thousand people), and each new ghost costs the homeserver a
// registration, a profile and a join: about 50 ms on Dendrite here, and
// more as the room grows (a join into a room of 1,000 took 140 ms).
// Joining them all inside the item that brought the list held every later
// message of the room, both ways, behind the whole list: 21 s for a
// channel of 200. The same went for churn: a hundred quits at once (a
// server restarting) held a channel's messages for seconds.
//
// So the portal only plans its ghosts' joins and leaves, and its
// goroutine carries them out one request at a time whenever its queue is
// empty. A message that arrives meanwhile waits for the one request in
// progress, not for the list. A message's own sender is joined at once,
// as it must be to speak. A room whose queue never empties (a busy
// channel on a homeserver slower than the channel) would never get to
// the work, so the portal also makes one request of it whenever
// memberSyncMaxWait has passed since the last, between two items.
//
// A member list is a snapshot, and the chat moves on while the portal
// works through it. For each member, the latest word wins: a planned
// join or leave is replaced by a later one, and a ghost that has to join
// to speak is no longer to leave. When a full list is done, the ghosts in
// the room that are neither on it nor joined since leave, also one at a
// time.

// memberAction is what is planned for one member's ghost.
type memberAction struct {
	join bool
	// byBot: the ghost is removed by the bot (a kick or ban), not leaves.
	byBot  bool
	reason string
}

// memberSync is the membership work the portal still has to do. Only the
// portal's goroutine touches it.
type memberSync struct {
	// loginID is the login the work came through.
	loginID network.LoginID
	// full: a whole member list is part of the work, so ghosts not on it
	// leave at the end.
	full bool
	// todo holds the members with something planned, in the order their
	// first plan came; pending has the latest plan of each (an entry no
	// longer in pending was done meanwhile).
	todo    []network.UserID
	pending map[network.UserID]memberAction
	// want is every ghost that belongs in the room: the list's, and those
	// that joined or spoke since.
	want map[id.UserID]bool
	// departed are the ghosts to remove once the rest is done (a full
	// list's only), listed then: departedListed.
	departed       []id.UserID
	departedListed bool
	started        time.Time
	// lastStep is when the work last made a request (or began).
	lastStep time.Time
	failed   int
}

// memberSyncMaxWait is the longest the membership work waits for the
// queue to empty before it makes a request anyway. One request every
// second is about a twentieth of what Dendrite here does in that time,
// so a busy room's messages hardly notice it.
var memberSyncMaxWait = time.Second

func newMemberSync(loginID network.LoginID, full bool, size int) *memberSync {
	now := time.Now()
	return &memberSync{
		loginID: loginID,
		full:    full,
		pending: make(map[network.UserID]memberAction, size),
		want:    make(map[id.UserID]bool, size),
		started: now,
		// A list that has just come waits for the queue like the rest.
		lastStep: now,
	}
}

// memberSyncFor is the membership work in progress, or new work through
// login.
func (p *Portal) memberSyncFor(login *network.Login) *memberSync {
	if p.memberSync == nil {
		p.memberSync = newMemberSync(login.ID, false, 1)
	}
	return p.memberSync
}

// planMember plans action for user's ghost, replacing what was planned.
func (p *Portal) planMember(s *memberSync, user network.UserID, action memberAction) {
	if _, ok := s.pending[user]; !ok {
		s.todo = append(s.todo, user)
	}
	s.pending[user] = action
	ghost := p.m.ghosts.MXID(network.GhostKey{Network: p.Key.Network, User: user})
	if action.join {
		s.want[ghost] = true
	} else {
		delete(s.want, ghost)
	}
}

// syncMembers brings the room's ghosts in line with the chat's members:
// power levels at once, joins between the portal's items (see above). A
// full list replaces the work in progress; a partial one (IRC sends the
// members whose modes changed) adds to it, so that a mode change in the
// middle of a channel's names list does not cut the list short. A lazy
// list joins nobody: its ghosts join when they speak.
func (p *Portal) syncMembers(ctx context.Context, login *network.Login, members *network.MemberList) {
	p.syncPowerLevels(ctx, login, members)
	s := p.memberSync
	if s == nil || members.IsFull {
		if s != nil {
			zerolog.Ctx(ctx).Debug().Int("left_undone", len(s.pending)).Msg("A newer member list replaces the one in progress")
		}
		s = newMemberSync(login.ID, members.IsFull, len(members.Members))
		p.memberSync = s
	}
	for _, member := range members.Members {
		switch {
		case member.IsMe:
		case members.Lazy:
			// Not joined now, but not departed either: a ghost already in
			// the room stays when the list ends.
			s.want[p.m.ghosts.MXID(network.GhostKey{Network: p.Key.Network, User: member.User})] = true
		default:
			p.planMember(s, member.User, memberAction{join: true})
		}
	}
}

// memberSyncPending says whether membership work is waiting.
func (p *Portal) memberSyncPending() bool { return p.memberSync != nil }

// memberSyncOverdue says whether membership work has waited
// memberSyncMaxWait for its next request.
func (p *Portal) memberSyncOverdue() bool {
	return p.memberSync != nil && time.Since(p.memberSync.lastStep) >= memberSyncMaxWait
}

// memberSyncDue says whether the portal's goroutine should turn to the
// membership work before its next item: when nothing else waits, or when
// the work is overdue.
func (p *Portal) memberSyncDue() bool {
	return p.memberSyncPending() && (len(p.queue) == 0 && !p.backlogged() || p.memberSyncOverdue())
}

// continueMemberSync carries out the planned joins and leaves, one
// request at a time, then (for a full list) removes the ghosts no longer
// in the chat. It returns when an item or a stored backlog waits, the
// bridge stops, or the work is done; overdue work first makes one request
// even if something waits. A panic ends the work, not the bridge.
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
	overdue := p.memberSyncOverdue()
	for {
		if ctx.Err() != nil || (len(p.queue) > 0 || p.backlogged()) && !overdue {
			// The bridge is stopping, or something waits. The work is not
			// kept across a stop: the ghosts it missed join when they next
			// act in the chat, or with the next list (IRC sends one at
			// every rejoin).
			return
		}
		// The login as the bridge has it now: a network saving its
		// metadata replaces the value, and that does not end the work.
		login := p.m.dir.Login(p.Key.Network, s.loginID)
		if p.RoomID == "" || login == nil {
			// The room or the login the work came through is gone; the
			// next list will come with whatever replaces them.
			log.Debug().Int("left_undone", len(s.pending)).Msg("Membership work dropped: its room or login is gone")
			p.memberSync = nil
			return
		}
		overdue = false
		more := p.memberSyncStep(ctx, s, login)
		s.lastStep = time.Now()
		if !more {
			break
		}
	}
	p.memberSync = nil
	log.Debug().Int("members", len(s.want)).Int("failed", s.failed).
		Dur("took", time.Since(s.started)).Msg("Membership work done")
}

// memberSyncStep makes the next request of the work, and says whether
// there is more to do.
func (p *Portal) memberSyncStep(ctx context.Context, s *memberSync, login *network.Login) bool {
	log := zerolog.Ctx(ctx)
	// Members an item has dealt with meanwhile (one who spoke has a
	// ghost in the room) cost no request: they are passed over here, so
	// that a step, and an overdue one in a busy room above all, makes a
	// request rather than spending its turn on them.
	for len(s.todo) > 0 {
		if _, ok := s.pending[s.todo[0]]; ok {
			break
		}
		s.todo = s.todo[1:]
	}
	switch {
	case len(s.todo) > 0:
		user := s.todo[0]
		s.todo = s.todo[1:]
		action := s.pending[user]
		delete(s.pending, user)
		if action.join {
			if _, err := p.joinGhost(ctx, login, user); err != nil && ctx.Err() == nil {
				// Still a member: the ghost keeps its place if it has one.
				s.failed++
				log.Warn().Err(err).Str("remote_user", string(user)).Msg("Failed to join ghost")
			}
		} else if err := p.removeGhost(ctx, p.m.ghosts.MXID(network.GhostKey{Network: p.Key.Network, User: user}), action); err != nil && ctx.Err() == nil {
			s.failed++
			log.Warn().Err(err).Str("remote_user", string(user)).Msg("Failed to remove ghost from room")
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
			if err := p.removeGhost(ctx, ghost, memberAction{}); err != nil && ctx.Err() == nil {
				log.Warn().Err(err).Stringer("user_id", ghost).Msg("Failed to remove departed ghost")
			}
		}
		return len(s.departed) > 0
	default:
		return false
	}
}

// removeGhost takes a ghost out of the room, as action says, unless it is
// not in it.
func (p *Portal) removeGhost(ctx context.Context, ghost id.UserID, action memberAction) error {
	if !p.m.matrix.AS.StateStore.IsMembership(ctx, p.RoomID, ghost, event.MembershipJoin, event.MembershipInvite) {
		return nil
	}
	var err error
	if action.byBot {
		_, err = p.m.matrix.Bot().KickUser(ctx, p.RoomID, &mautrix.ReqKickUser{UserID: ghost, Reason: action.reason})
	} else {
		err = p.m.matrix.Leave(ctx, p.m.matrix.Intent(ghost), p.RoomID, action.reason)
	}
	return err
}

// memberJoined records that the ghost of user is in the room (joined to
// speak, or by the work): nothing planned for it stands, and it stays.
func (p *Portal) memberJoined(user network.UserID, ghost id.UserID) {
	if s := p.memberSync; s != nil {
		delete(s.pending, user)
		s.want[ghost] = true
	}
}

// memberGone records that the ghost of user is to be out of the room
// (a direct chat's old ghost, replaced: other_user.go): nothing planned
// for it stands, a join least of all, and it is not kept.
func (p *Portal) memberGone(user network.UserID, ghost id.UserID) {
	if s := p.memberSync; s != nil {
		delete(s.pending, user)
		delete(s.want, ghost)
	}
}

// departedGhosts lists this network's ghosts that are in the room but not
// in want.
func (p *Portal) departedGhosts(ctx context.Context, want map[id.UserID]bool) ([]id.UserID, error) {
	// Not the client's JoinedMembers: it replaces the room's members in
	// the state store with the list, undoing a membership heard while the
	// list was on its way (puppets' RoomMembers). Read as the bot's
	// stand-in: in a direct chat without the bot, the bot may not read
	// the members, and stray ghosts there would never be removed.
	reader, err := p.botStandIn(ctx)
	if err != nil {
		return nil, fmt.Errorf("find who reads the room's members: %w", err)
	}
	members, err := p.m.matrix.RoomMembersAs(ctx, reader, p.RoomID)
	if members == nil && err != nil {
		return nil, fmt.Errorf("list room members: %w", err)
	}
	if err != nil {
		zerolog.Ctx(ctx).Warn().Err(err).Msg("Failed to record the room's members; the state store learns them from its events")
	}
	var departed []id.UserID
	for _, evt := range members {
		mxid := id.UserID(evt.GetStateKey())
		if evt.Content.AsMember().Membership != event.MembershipJoin || want[mxid] {
			continue
		}
		if key, ok := p.m.ghosts.ParseMXID(mxid); ok && key.Network == p.Key.Network {
			departed = append(departed, mxid)
		}
	}
	return departed, nil
}
