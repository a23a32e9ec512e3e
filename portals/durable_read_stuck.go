package portals

import (
	"context"
	"fmt"

	"maunium.net/go/mautrix/id"
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
	if p.RoomID == "" {
		// Events stored to create the room: the owner of a per-user
		// chat hears of them in the management room (notice_user.go).
		// Of a shared chat's, whose logins are in the rows that cannot
		// be read, only the log tells (errNoRoom).
		users = p.usersToTell(nil)
		body = fmt.Sprintf("⚠️ Messages from %s in %s are held up: Ferry cannot read its database to bridge them, and bridges none there until it can (see the bridge log).", net, p.roomlessChat())
	}
	if err := p.noticeOrHold(ctx, users, body); err != nil {
		// Neither posted nor held (a refusal, or nobody to tell): not
		// heard, so the next failed read tries again.
		p.log.Err(err).Msg("Failed to tell the room that its messages are held up by the database; trying again at the next failed read")
		return
	}
	s.told = true
}
