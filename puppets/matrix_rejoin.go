package puppets

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"sync/atomic"
	"time"

	"github.com/rs/zerolog"
	"maunium.net/go/mautrix"
	"maunium.net/go/mautrix/appservice"
	"maunium.net/go/mautrix/event"
	"maunium.net/go/mautrix/id"
)

// A ghost's send is refused as forbidden when the ghost is not in the
// room although the state store has it joined: an admin kicked it and
// the kick has not reached Ferry yet, a state reset, a store that missed
// an event. Nothing else would ever join it again (the intent trusts the
// store), so every message of that ghost would fail for good. The ghost
// is joined again and the send tried once more; once only, so a ghost
// that cannot be in the room (banned) or may not send there fails with
// the send's own error, as before.

// rejoinKey names a ghost in a room, for Matrix.rejoins.
type rejoinKey struct {
	room id.RoomID
	user id.UserID
}

// rejoinState is one ghost's joins again to one room: lock makes the
// sends refused together wait for one join, and gen counts the joins, so
// that a send can tell whether the ghost joined again after it went out.
// lock is a 1-buffered channel, held while it holds a value, rather than
// a mutex: a send waiting for another's join (which may take that send's
// whole RetryFor) must be able to give up when its own context ends.
//
// An entry lives only while sends hold marks of it: holds counts them
// (guarded by Matrix.rejoinsMu), and the last one to let go drops it.
// Ghosts come and go without end, and an entry for every ghost ever
// refused would stay for good. Dropping it loses nothing: a gen is only
// ever compared with marks taken of the same entry, and while one is
// held the entry stays, so a send never meets another entry than the
// one it marked. A send's mark is taken before it goes out and let go
// once its refusal (if any) has been dealt with, join and retry
// included, so an entry outlives the join it led to for as long as a
// send that went out before that join may still be refused.
type rejoinState struct {
	lock  chan struct{}
	gen   atomic.Uint64
	holds int
}

// rejoinMark is a send's mark: the count of its ghost's joins again to
// its room when it went out, of the entry it holds.
type rejoinMark struct {
	key rejoinKey
	st  *rejoinState
	gen uint64
}

// takeRejoinMark marks a send of user to room before it goes out; the
// send lets it go (releaseRejoinMark) once it is done.
func (m *Matrix) takeRejoinMark(room id.RoomID, user id.UserID) rejoinMark {
	key := rejoinKey{room, user}
	m.rejoinsMu.Lock()
	defer m.rejoinsMu.Unlock()
	st := m.rejoins[key]
	if st == nil {
		if m.rejoins == nil {
			m.rejoins = make(map[rejoinKey]*rejoinState)
		}
		st = &rejoinState{lock: make(chan struct{}, 1)}
		m.rejoins[key] = st
	}
	st.holds++
	return rejoinMark{key: key, st: st, gen: st.gen.Load()}
}

// releaseRejoinMark lets go of mark; the last one held of an entry
// drops it.
func (m *Matrix) releaseRejoinMark(mark rejoinMark) {
	m.rejoinsMu.Lock()
	defer m.rejoinsMu.Unlock()
	if mark.st.holds--; mark.st.holds == 0 && m.rejoins[mark.key] == mark.st {
		delete(m.rejoins, mark.key)
	}
}

// rejoinRefused says whether intent's send to room, refused with err,
// is worth trying once more: err is M_FORBIDDEN, intent is a ghost (the
// bot's membership is the portals' business: a bot out of a room is
// invited back by people, not by itself), and the ghost has been joined
// again, here or, since mark was taken before the send, for another of
// its sends (mark is of the same entry: see rejoinState). Sends pipelined behind the first one refused went out before
// that one's answer, and so before the join it leads to: by the time
// they are looked at the ghost is in the room, yet they must be tried
// again too, not taken as refused for another reason and lost.
//
// When the join could not be made because the homeserver could not be
// reached, the send is not retried and failed is the error to fail it
// with instead of err: marked ErrUnreachable, so that its portal keeps
// the event until the homeserver is back, as it keeps a send that met
// the outage itself (the store no longer has the ghost joined, so it
// joins before that send), rather than report it not bridged.
//
// When ctx ends while the send waits for a join of the same ghost to
// the room made for another send, it gives up at once and failed wraps
// the context's error, which its caller, whose context ended, takes as
// it takes any send it stopped. Neither it nor the room's sends held
// behind its refusal (pipeline_refused.go) wait on for that join, which
// may take the other send's whole RetryFor. So too when the send's own
// retry budget (retry_budget.go) ends while it waits: failed is then
// marked ErrUnreachable, as when its own join is not answered in time.
//
// joining, if not nil, is called before the ghost is joined again, or,
// if it already has been, before retry is returned.
func (m *Matrix) rejoinRefused(ctx context.Context, intent *appservice.IntentAPI, room id.RoomID, err error, mark rejoinMark, joining func()) (retry bool, failed error) {
	if intent.UserID == m.BotMXID() || !errors.Is(err, mautrix.MForbidden) {
		return false, nil
	}
	st := mark.st
	log := zerolog.Ctx(ctx).With().Stringer("user_id", intent.UserID).Stringer("room_id", room).Logger()
	select {
	case st.lock <- struct{}{}:
	default:
		log.Debug().Msg("Waiting for a ghost's join again for another of its sends")
		// The wait counts in the send's retry budget like the join it
		// waits for: the other send's join may be answered only at the
		// end of that send's own budget.
		budgetOver := time.NewTimer(time.Until(m.retryDeadline(ctx)))
		defer budgetOver.Stop()
		select {
		case st.lock <- struct{}{}:
		case <-ctx.Done():
			log.Debug().Err(ctx.Err()).Msg("Gave up waiting for a ghost's join again")
			return false, fmt.Errorf("send event refused (%v), then waiting for the ghost to join again: %w", err, ctx.Err())
		case <-budgetOver.C:
			select {
			case st.lock <- struct{}{}:
				// The join ended as the budget did (or had ended before
				// a budget already over was looked at): go on with it.
			default:
				// As a join of its own still unanswered at the budget's
				// end would: the homeserver did not answer in time, so
				// the send is kept by its portal, as in an outage, not
				// reported lost.
				log.Warn().Err(err).Msg("Gave up waiting for a ghost's join again at the end of the send's retry budget")
				return false, fmt.Errorf("send event refused (%v), then waiting for the ghost to join again: %w: no join within the send's retry budget", err, ErrUnreachable)
			}
		}
	}
	defer func() { <-st.lock }()
	if st.gen.Load() != mark.gen {
		log.Debug().Err(err).Msg("A ghost's send was refused before the ghost joined again; retrying it once")
		if joining != nil {
			joining()
		}
		return true, nil
	}
	// Taken before asking, so that a change during the question is
	// seen as one (matrix_muted.go).
	view, viewErr := m.storeView(ctx, room, intent.UserID)
	nonMember := refusedAsNonMember(err)
	if viewErr != nil {
		log.Debug().Err(viewErr).Msg("Failed to read the state store's view of a refused ghost; asking the homeserver")
	} else if nonMember {
		log.Debug().Err(err).Msg("Homeserver refused a ghost's send as from a non-member; not taking it as muted")
	} else if m.muted.known(mark.key, view) {
		log.Debug().Err(err).Msg("Homeserver refused a send of a ghost found in the room before")
		return false, nil
	}
	joined, cut := m.ghostJoined(ctx, intent, room)
	if cut != nil {
		log.Warn().Err(cut).Msg("Gave up asking whether a refused ghost is in the room at the end of the send's retry budget")
		return false, fmt.Errorf("send event refused (%v), then: %w", err, cut)
	}
	if joined {
		if nonMember {
			// Refused as out of the room, and in it now: joined since
			// the send went out, by a join whose answer never came (one
			// cut at its own send's budget, which the homeserver took
			// all the same) or from elsewhere. Taken as muted, the send
			// would be reported not bridged though sending it once more
			// is all it needs. The store learns the join it missed, so
			// that the retry does not join the ghost once more first.
			log.Debug().Err(err).Msg("Homeserver refused a ghost's send as from a non-member, and the ghost has joined since; retrying it once")
			if err := m.AS.StateStore.SetMembership(ctx, room, intent.UserID, event.MembershipJoin); err != nil {
				log.Warn().Err(err).Msg("Failed to record a ghost's membership in the state store")
			}
			if joining != nil {
				joining()
			}
			return true, nil
		}
		// Refused for another reason (the room's power levels): a join
		// would change nothing but add a membership event per message.
		log.Debug().Err(err).Msg("Homeserver refused a send of a ghost that is in the room")
		if viewErr == nil {
			m.muted.remember(mark.key, view)
		}
		return false, nil
	}
	log.Warn().Err(err).Msg("Homeserver refused a ghost's send as forbidden; joining the ghost again to retry it once")
	// The store's "joined" is what was wrong; without it gone,
	// JoinInvitedBy would take the ghost as in the room.
	if err := m.AS.StateStore.SetMembership(ctx, room, intent.UserID, event.MembershipLeave); err != nil {
		log.Warn().Err(err).Msg("Failed to forget a ghost's membership in the state store")
		return false, nil
	}
	inviter, cut := m.rejoinInviter(ctx, room, intent.UserID)
	if cut != nil {
		log.Warn().Err(cut).Msg("Gave up finding who invites a refused ghost at the end of the send's retry budget")
		return false, fmt.Errorf("send event refused (%v), then: %w", err, cut)
	}
	if joining != nil {
		joining()
	}
	joinErr := m.Retry(ctx, "join ghost again", func(ctx context.Context) error {
		// Cut at the end of the send's budget: a join the homeserver
		// holds would otherwise keep the send (and its portal's tail
		// behind it) until the HTTP client's own timeout, minutes past
		// the budget. The join is this send's alone: the sends waiting
		// for it give up at their own budgets, and one that outlives
		// this one finds the ghost not joined again and joins it itself.
		joinCtx, cancel := m.budgetBound(ctx)
		defer cancel()
		return budgetCut(ctx, joinCtx, m.JoinInvitedBy(joinCtx, intent, room, inviter))
	})
	if joinErr != nil {
		log.Warn().Err(joinErr).Msg("Failed to join a ghost again after its send was refused")
		if errors.Is(joinErr, ErrUnreachable) {
			return false, fmt.Errorf("send event refused (%v), then: %w", err, joinErr)
		}
		return false, nil
	}
	st.gen.Add(1)
	return true, nil
}

// ghostJoined asks the homeserver whether intent's ghost is joined to
// room: a send refused as forbidden says only that the ghost may not send
// there. When the homeserver cannot tell, the ghost is taken as out. The
// question is cut at the end of the send's retry budget, as the join
// after it is: cut is then the error, marked ErrUnreachable, to give the
// send up with.
func (m *Matrix) ghostJoined(ctx context.Context, intent *appservice.IntentAPI, room id.RoomID) (joined bool, cut error) {
	askCtx, cancel := m.budgetBound(ctx)
	defer cancel()
	resp, err := intent.JoinedRooms(askCtx)
	if err = budgetCut(ctx, askCtx, err); errors.Is(err, errBudgetCut) {
		return false, fmt.Errorf("list the ghost's rooms: %w", err)
	} else if err != nil {
		zerolog.Ctx(ctx).Debug().Err(err).Stringer("user_id", intent.UserID).Msg("Failed to list a ghost's rooms")
		return false, nil
	}
	return slices.Contains(resp.JoinedRooms, room), nil
}

// rejoinInviter is who invites user back into room: the bot where it is
// a member (nil), else another of Ferry's users joined there with the
// power to invite, the most powerful first. The bot is never invited to
// a direct chat a user opened with a ghost, where that ghost has the
// power the user's client gave it; Ferry heard nothing of such a room
// before the ghost's invite, its power levels included, so they are read
// from the homeserver when the store lacks them, a read cut at the end
// of the send's retry budget as the join after it is (cut is then the
// error, marked ErrUnreachable, to give the send up with). With no one
// found, the bot tries.
//
// portals' botStandIn answers a like question from the portal's row (the
// direct chat's ghost), with no request. It cannot serve here: this
// package knows the room only, not its portal; the ghost to invite back
// may be that very ghost, which cannot invite itself; and a room with
// no portal knowledge to go by (a shared room the bot was removed from)
// still has ghosts that may invite. Nor can this serve it: botStandIn
// also names who posts notices, reads and redacts where no invite power
// is needed, and must name the chat's own ghost, not the most powerful.
func (m *Matrix) rejoinInviter(ctx context.Context, room id.RoomID, user id.UserID) (_ *appservice.IntentAPI, cut error) {
	store := m.AS.StateStore
	if store.IsInRoom(ctx, room, m.BotMXID()) {
		return nil, nil
	}
	log := zerolog.Ctx(ctx)
	members, err := store.GetRoomJoinedOrInvitedMembers(ctx, room)
	if err != nil {
		log.Debug().Err(err).Msg("Failed to list a room's members to find who invites a ghost")
		return nil, nil
	}
	ours := m.ownUsers()
	var candidates []id.UserID
	for _, member := range members {
		if member != user && ours(member) && store.IsInRoom(ctx, room, member) {
			candidates = append(candidates, member)
		}
	}
	if len(candidates) == 0 {
		return nil, nil
	}
	askCtx, cancel := m.budgetBound(ctx)
	defer cancel()
	levels, err := m.Intent(candidates[0]).PowerLevels(askCtx, room)
	if err = budgetCut(ctx, askCtx, err); errors.Is(err, errBudgetCut) {
		return nil, fmt.Errorf("read the room's power levels: %w", err)
	} else if err != nil {
		log.Debug().Err(err).Msg("Failed to read a room's power levels to find who invites a ghost")
		return m.Intent(candidates[0]), nil
	}
	var best id.UserID
	bestLevel := levels.Invite() - 1
	for _, member := range candidates {
		if level := levels.GetUserLevel(member); level > bestLevel {
			best, bestLevel = member, level
		}
	}
	if best == "" {
		return nil, nil
	}
	return m.Intent(best), nil
}

// ownUsers returns a test of whether a user is in the appservice's user
// namespace, that is, one Ferry can act as.
func (m *Matrix) ownUsers() func(id.UserID) bool {
	var patterns []*regexp.Regexp
	if reg := m.AS.Registration; reg != nil {
		for _, ns := range reg.Namespaces.UserIDs {
			if re, err := regexp.Compile("^(?:" + ns.Regex + ")$"); err == nil {
				patterns = append(patterns, re)
			}
		}
	}
	return func(user id.UserID) bool {
		for _, re := range patterns {
			if re.MatchString(user.String()) {
				return true
			}
		}
		return false
	}
}
