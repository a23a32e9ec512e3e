package portals

import (
	"context"
	"fmt"

	"maunium.net/go/mautrix/id"

	"github.com/ferrybridge/ferry/bridge/network"
	"github.com/ferrybridge/ferry/database"
)

// Portal membership, cached. Every Matrix message into a shared portal
// needs the login its sender speaks through (the user_portal row). Read
// from the database, that lookup was a tenth of Ferry's own time per
// message from Matrix to IRC, on the path before the line leaves. So each
// portal remembers the logins it found.
//
// The cache holds only what the database said, and only while it is sure
// to still be true:
//   - rows change in three ways: through putMember and unlinkMember (the
//     only writers of user_portal), and through the foreign keys, which
//     delete a login's rows with the login and move a portal's rows with
//     its key (rekey keeps the portal object, and its users keep their
//     logins);
//   - an entry keeps the *network.Login the bridge had for it and counts
//     only while the bridge still has that same login: a removed login
//     (its rows deleted with it), a login made again under the same ID
//     (whose rows are not there yet) or a rekeyed one all miss, and the
//     database is asked again;
//   - what a database read returns is remembered only if no write to the
//     portal's membership happened during the read (readthrough.Cache),
//     so a read that raced an unlink cannot put the unlinked row back.
//
// It remembers members only: who is not a member takes the relay path or
// gets an error, both rare, and a user joining later must not be missed.

// memberLogin is the login through which user takes part in the portal,
// or nil if the user does not. Events from Matrix ask it in shared
// portals only (per-login portals have their receiver instead); remote
// events ask it in every portal, whether their login's user is in the
// room (ensureUserIn).
func (p *Portal) memberLogin(ctx context.Context, user id.UserID) (*network.Login, error) {
	load := func() (*network.Login, bool, error) {
		link, err := p.m.db.UserPortals.Get(ctx, user, p.Key)
		if err != nil {
			return nil, false, fmt.Errorf("look up portal membership: %w", err)
		}
		if link == nil {
			return nil, false, nil
		}
		login := p.m.dir.Login(p.Key.Network, link.Login)
		return login, login != nil, nil
	}
	login, err := p.members.Get(user, load)
	if err != nil || login == nil || p.m.dir.Login(p.Key.Network, login.ID) == login {
		return login, err
	}
	p.members.Forget(user) // the bridge has another login under that ID, or none
	return p.members.Get(user, load)
}

// putMember records that user takes part in the portal through login.
func (p *Portal) putMember(ctx context.Context, user id.UserID, login network.LoginID) error {
	return p.members.Write(user, func() error {
		return p.m.db.UserPortals.Put(ctx, &database.UserPortal{UserMXID: user, Portal: p.Key, Login: login})
	})
}

// unlinkMember records that user no longer takes part in the portal.
func (p *Portal) unlinkMember(ctx context.Context, user id.UserID) error {
	return p.members.Write(user, func() error {
		return p.m.db.UserPortals.Delete(ctx, user, p.Key)
	})
}
