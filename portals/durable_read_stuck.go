package portals

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"maunium.net/go/mautrix/id"

	"github.com/ferrybridge/ferry/bridge/network"
)

// A backlog whose store cannot be read. The drain tries a failed read
// again at its back-off (retryDrainLater), for as long as Ferry runs, and
// bridges nothing of the backlog meanwhile, nor anything that comes after
// it, which waits in the store behind it. A database restarting heals by
// itself; a dropped table or a broken file does not, and only the log
// said why the chat stood still. So the room is told, once, by the rule
// the move of kept events uses (durable_outage_place_stuck.go): when the
// reads have failed at two tries a ResumeAfterOutage apart with the drain
// standing where it stood. A read that works ends the episode
// (drainReadOK), so one that fails once and then works is never told; a
// later episode is told again.

// drainReadFailed notes that a read of the backlog failed with err, has
// the drain tried again later, and tells the room once the reads have
// been failing for a while. On the portal's goroutine.
func (p *Portal) drainReadFailed(ctx context.Context, err error) {
	p.retryDrainLater(ctx, err)
	if ctx.Err() != nil {
		return // stopping: the next start reads the store
	}
	s := &p.durable.readStuck
	at := p.durable.lastSeq.Load()
	if !s.failedAgain(at) {
		return
	}
	p.log.Error().Err(err).Int64("after_seq", at).Time("since", s.since).
		Msg("The queued remote events could not be read for a while; telling the room that its messages are held up")
	net := p.m.dir.NetworkName(p.Key.Network)
	body := fmt.Sprintf("⚠️ Messages from %s are held up: Ferry cannot read its database to bridge the messages it queued here, and bridges none here until it can (see the bridge log).", net)
	var users []id.UserID
	var unknown error // users who could not be found: the next failed read looks again
	if p.RoomID == "" {
		// Events stored to create the room: the owner of a per-user
		// chat hears of them in the management room (notice_user.go);
		// the users of a shared chat's, whose logins are in the rows
		// that cannot be read, as the portal noted them when it stored
		// the rows or found them at the start (storedLogins).
		if users = p.usersToTell(nil); len(users) == 0 {
			users, unknown = p.storedLoginUsers(ctx)
		}
		body = fmt.Sprintf("⚠️ Messages from %s in %s, are held up: Ferry cannot read its database to bridge them, and bridges none there until it can (see the bridge log).", net, p.roomlessChat())
	}
	if err := errors.Join(p.noticeUntold(ctx, s, users, body), unknown); err != nil {
		// Not heard by all (a refusal, nobody to tell, or a user not
		// found): the next failed read tries again for those who did
		// not hear.
		p.log.Err(err).Msg("Failed to tell the room, or some of the chat's users, that its messages are held up by the database; trying again at the next failed read")
		return
	}
	s.told = true
}

// noticeUntold is noticeOrHold for those of users who have not heard of
// s's episode yet, noted in s as they do: a notice that reached some and
// failed for others is tried again, at the next failed read, for the
// others only, rather than told to the first ones at every read. With
// no users, it is the room's notice (or errNoRoom).
func (p *Portal) noticeUntold(ctx context.Context, s *placeStuck, users []id.UserID, body string) error {
	if len(users) == 0 {
		return p.noticeOrHold(ctx, nil, body)
	}
	var errs []error
	for _, user := range users {
		if s.toldUsers[user] {
			continue
		}
		if err := p.noticeOrHold(ctx, []id.UserID{user}, body); err != nil {
			errs = append(errs, err)
			continue
		}
		if s.toldUsers == nil {
			s.toldUsers = make(map[id.UserID]bool)
		}
		s.toldUsers[user] = true
	}
	return errors.Join(errs...)
}

// storedLoginUsers are the users of the logins of the portal's stored
// events (storedLogins), each once. A login that is not running (its
// network could not load it) is looked up among the stored logins; one
// found nowhere has logged out, and its events are not bridged anyway.
// err names the logins that could not be looked up (the database failing
// here too), whose users are not among users.
func (p *Portal) storedLoginUsers(ctx context.Context) (users []id.UserID, err error) {
	p.durable.lock.Lock()
	logins := make([]network.LoginID, 0, len(p.durable.storedLogins))
	for login := range p.durable.storedLogins {
		logins = append(logins, login)
	}
	p.durable.lock.Unlock()
	var errs []error
	for _, loginID := range logins {
		if login := p.m.dir.Login(p.Key.Network, loginID); login != nil {
			users = append(users, login.User)
			continue
		}
		stored, err := p.m.db.Logins.Get(ctx, p.Key.Network, loginID)
		if err != nil {
			errs = append(errs, fmt.Errorf("look up the login %s: %w", loginID, err))
			continue
		}
		if stored != nil {
			users = append(users, stored.UserMXID)
		}
	}
	slices.Sort(users)
	return slices.Compact(users), errors.Join(errs...)
}
