package database

import (
	"context"
	"fmt"

	"go.mau.fi/util/dbutil"
	"maunium.net/go/mautrix/id"

	"github.com/ferrybridge/ferry/bridge/network"
)

// UserPortal records which of a Matrix user's logins takes part in a portal.
// A shared portal (an IRC channel) has one row per Matrix user in it; a
// per-login portal has one row for its receiver's owner.
type UserPortal struct {
	UserMXID id.UserID
	Portal   network.PortalKey
	Login    network.LoginID // on Portal.Network
}

// UserPortalQuery reads and writes the user_portal table. Rows disappear
// with their portal and with their login (foreign keys), and Put fails if
// either does not exist.
type UserPortalQuery struct {
	qh *dbutil.QueryHelper[*UserPortal]
}

func newUserPortal() *UserPortal { return &UserPortal{} }

const (
	userPortalColumns = `user_mxid, network, chat_id, receiver, login_id`
	getUserPortal     = `SELECT ` + userPortalColumns + ` FROM user_portal`
	// The parameter order of the WHERE clause below puts the portal key
	// first so that it can share portalKeyWhere's $1..$3.
	userPortalWhere = portalKeyWhere + ` AND user_mxid = $4`
	getUserPortalOf = getUserPortal + ` WHERE ` + userPortalWhere
	putUserPortal   = `
		INSERT INTO user_portal (` + userPortalColumns + `) VALUES ($1, $2, $3, $4, $5)
		ON CONFLICT (user_mxid, network, chat_id, receiver) DO UPDATE SET login_id = excluded.login_id`
)

// Scan implements dbutil.DataStruct.
func (up *UserPortal) Scan(row dbutil.Scannable) (*UserPortal, error) {
	return dbutil.ValueOrErr(up, row.Scan(
		&up.UserMXID, &up.Portal.Network, &up.Portal.Chat, &up.Portal.Receiver, &up.Login))
}

// Put records (or changes) the login through which a user is in a portal.
func (uq *UserPortalQuery) Put(ctx context.Context, up *UserPortal) error {
	err := uq.qh.Exec(ctx, putUserPortal,
		up.UserMXID, up.Portal.Network, up.Portal.Chat, up.Portal.Receiver, up.Login)
	if err != nil {
		return fmt.Errorf("put user portal %s in %s: %w", up.UserMXID, up.Portal, err)
	}
	return nil
}

// Get returns a user's row for one portal, or nil if the user is not in it.
func (uq *UserPortalQuery) Get(ctx context.Context, mxid id.UserID, key network.PortalKey) (*UserPortal, error) {
	up, err := uq.qh.QueryOne(ctx, getUserPortalOf,
		key.Network, key.Chat, key.Receiver, mxid)
	if err != nil {
		return nil, fmt.Errorf("get user portal %s in %s: %w", mxid, key, err)
	}
	return up, nil
}

// ByUser returns every portal a Matrix user takes part in.
func (uq *UserPortalQuery) ByUser(ctx context.Context, mxid id.UserID) ([]*UserPortal, error) {
	ups, err := queryMany(ctx, uq.qh,
		getUserPortal+` WHERE user_mxid = $1 ORDER BY network, chat_id, receiver`, mxid)
	if err != nil {
		return nil, fmt.Errorf("get portals of user %s: %w", mxid, err)
	}
	return ups, nil
}

// ByPortal returns every Matrix user taking part in a portal.
func (uq *UserPortalQuery) ByPortal(ctx context.Context, key network.PortalKey) ([]*UserPortal, error) {
	ups, err := queryMany(ctx, uq.qh,
		getUserPortal+` WHERE `+portalKeyWhere+` ORDER BY user_mxid`, key.Network, key.Chat, key.Receiver)
	if err != nil {
		return nil, fmt.Errorf("get users of portal %s: %w", key, err)
	}
	return ups, nil
}

// Delete removes a user from a portal; a missing row is not an error.
func (uq *UserPortalQuery) Delete(ctx context.Context, mxid id.UserID, key network.PortalKey) error {
	err := uq.qh.Exec(ctx, `DELETE FROM user_portal WHERE `+userPortalWhere,
		key.Network, key.Chat, key.Receiver, mxid)
	if err != nil {
		return fmt.Errorf("delete user portal %s in %s: %w", mxid, key, err)
	}
	return nil
}
