package portals

import (
	"context"
	"errors"
	"fmt"

	"maunium.net/go/mautrix/event"
	"maunium.net/go/mautrix/id"

	"github.com/ferrybridge/ferry/bridge/network"
)

// Notices of a portal that has no room. A remote event that could not
// create its portal's room (the homeserver refused it, or could not be
// reached) has no room to be reported in; nor has one stored for such a
// portal that cannot be read back. The users whose logins the events came
// through hear of them in their management rooms instead (through the
// Directory), so that nothing is lost with only the log to tell.

// usersToTell are the Matrix users who hear of an event of this portal
// that came through login (nil: a login that is gone) while the portal
// has no room: the login's user, or else the owner of a per-user chat.
func (p *Portal) usersToTell(login *network.Login) []id.UserID {
	if login != nil {
		return []id.UserID{login.User}
	}
	if p.Key.Receiver != "" {
		if owner := p.m.dir.Login(p.Key.Network, p.Key.Receiver); owner != nil {
			return []id.UserID{owner.User}
		}
	}
	return nil
}

// noticeUsers posts body, Markdown (noticeContent), in the management room of each of users;
// errNoRoom when there is nobody to tell. Its error says whether the
// homeserver could not be reached (puppets.ErrUnreachable), so that a
// caller may try again later.
func (p *Portal) noticeUsers(ctx context.Context, users []id.UserID, body string) error {
	if len(users) == 0 {
		return errNoRoom
	}
	var errs []error
	for _, user := range users {
		if err := p.postNotice(ctx, user, body); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// postNotice posts body, Markdown (noticeContent), in user's management room, or in the portal's
// room when user is empty.
func (p *Portal) postNotice(ctx context.Context, user id.UserID, body string) error {
	return p.postNoticeTxn(ctx, user, body, "")
}

// TxnNotifier is a Directory that can post a notice in a management
// room under a transaction ID of the caller's. A notice tried more than
// once (held through an outage, tried again at the stop) keeps one ID for
// all its tries, so that a try whose answer was lost as the homeserver
// took it is answered with the event it made, not posted again.
type TxnNotifier interface {
	NotifyUserTxn(ctx context.Context, user id.UserID, content *event.MessageEventContent, txnID string) error
}

// postNoticeTxn is postNotice with the transaction ID txnID ("": a new
// one) for the notice, in the portal's room (sendNoticeTxn) or in the
// management room, through the Directory (TxnNotifier, where it is one).
func (p *Portal) postNoticeTxn(ctx context.Context, user id.UserID, body, txnID string) error {
	content := noticeContent(body)
	if user == "" {
		_, err := p.sendNoticeTxn(ctx, content, txnID)
		return err
	}
	var err error
	if tn, ok := p.m.dir.(TxnNotifier); ok && txnID != "" {
		// The ID is the portal's for one notice: each user's management
		// room is a room of its own, where it names one event.
		err = tn.NotifyUserTxn(ctx, user, content, txnID)
	} else {
		err = p.m.dir.NotifyUser(ctx, user, content)
	}
	if err != nil {
		return fmt.Errorf("tell %s: %w", user, err)
	}
	return nil
}

// roomlessChat names the chat of a portal that has no room, for a notice
// in a management room: its name where Ferry learnt one, else its ID,
// either as written (network.Literal: the notice is Markdown).
func (p *Portal) roomlessChat() string {
	if p.Name != "" {
		return fmt.Sprintf("the chat “%s”, which has no Matrix room yet", network.Literal(p.Name))
	}
	return fmt.Sprintf("the chat %s, which has no Matrix room yet", network.Literal(string(p.Key.Chat)))
}

// noteLostUser records that an event lost in an outage came through
// login, so that its user hears of it if the portal has no room
// (reportLost).
func (p *Portal) noteLostUser(login *network.Login) { p.noteUserIn(&p.durable.lostUsers, login) }

// takeLostUsers returns, and forgets, the users noted by noteLostUser;
// the owner of a per-user chat when none was.
func (p *Portal) takeLostUsers() []id.UserID { return p.takeUsersIn(&p.durable.lostUsers) }

// noteDroppedUser records that an event refused while the portal's queue
// was full came through login, so that its user hears of it if the
// portal has no room (reportDropped).
func (p *Portal) noteDroppedUser(login *network.Login) { p.noteUserIn(&p.durable.droppedUsers, login) }

// takeDroppedUsers returns, and forgets, the users noted by
// noteDroppedUser; the owner of a per-user chat when none was.
func (p *Portal) takeDroppedUsers() []id.UserID { return p.takeUsersIn(&p.durable.droppedUsers) }

// noteUserIn adds login's user to set, guarded by durable.lock.
func (p *Portal) noteUserIn(set *map[id.UserID]bool, login *network.Login) {
	if login == nil {
		return
	}
	p.durable.lock.Lock()
	defer p.durable.lock.Unlock()
	if *set == nil {
		*set = make(map[id.UserID]bool)
	}
	(*set)[login.User] = true
}

// takeUsersIn empties set and returns its users; the owner of a per-user
// chat when it had none.
func (p *Portal) takeUsersIn(set *map[id.UserID]bool) []id.UserID {
	p.durable.lock.Lock()
	noted := *set
	*set = nil
	p.durable.lock.Unlock()
	if len(noted) == 0 {
		return p.usersToTell(nil)
	}
	users := make([]id.UserID, 0, len(noted))
	for user := range noted {
		users = append(users, user)
	}
	return users
}
