package database

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"go.mau.fi/util/dbutil"
	"maunium.net/go/mautrix/id"

	"github.com/ferrybridge/ferry/bridge/network"
)

// Login is one remote account a Matrix user has logged in to Ferry.
type Login struct {
	Network    network.NetworkID
	ID         network.LoginID
	UserMXID   id.UserID
	RemoteName string // human-readable account name, for the user's benefit
	// RemoteUser is the account's own remote user ID (network.Login's), kept
	// so that after a restart messages sent from Matrix get the right
	// sender before the network has reconnected.
	RemoteUser network.UserID
	SpaceRoom  id.RoomID // "" until the login's space is created
	Metadata   json.RawMessage
	CreatedAt  time.Time
}

// LoginQuery reads and writes the login table.
type LoginQuery struct {
	qh *dbutil.QueryHelper[*Login]
}

func newLogin() *Login { return &Login{} }

const (
	loginColumns = `network, id, user_mxid, remote_name, remote_user, space_room, metadata, created_at`
	getLogin     = `SELECT ` + loginColumns + ` FROM login`
	putLogin     = `
		INSERT INTO login (` + loginColumns + `) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
		ON CONFLICT (network, id) DO UPDATE SET
			user_mxid = excluded.user_mxid, remote_name = excluded.remote_name,
			remote_user = excluded.remote_user, space_room = excluded.space_room, metadata = excluded.metadata
		RETURNING created_at`
	deleteLogin = `DELETE FROM login WHERE network = $1 AND id = $2`
)

// Scan implements dbutil.DataStruct.
func (l *Login) Scan(row dbutil.Scannable) (*Login, error) {
	var meta string
	var created int64
	err := row.Scan(&l.Network, &l.ID, &l.UserMXID, &l.RemoteName, &l.RemoteUser, &l.SpaceRoom, &meta, &created)
	if err != nil {
		return nil, err
	}
	l.Metadata = scanMetadata(meta)
	l.CreatedAt = fromMilli(created)
	return l, nil
}

// Put inserts or updates a login. A zero CreatedAt is set to now on insert;
// an update keeps the stored CreatedAt and copies it into l. Nil metadata
// becomes {} in l too, so l matches the row afterwards.
func (lq *LoginQuery) Put(ctx context.Context, l *Login) error {
	meta, err := metadataValue(l.Metadata)
	if err != nil {
		return fmt.Errorf("put login %s/%s: %w", l.Network, l.ID, err)
	}
	created := l.CreatedAt
	if created.IsZero() {
		created = time.Now()
	}
	var stored int64
	err = lq.qh.GetDB().QueryRow(ctx, putLogin,
		l.Network, l.ID, l.UserMXID, storedText(l.RemoteName), l.RemoteUser, l.SpaceRoom, meta, toMilli(created),
	).Scan(&stored)
	if err != nil {
		return fmt.Errorf("put login %s/%s: %w", l.Network, l.ID, err)
	}
	l.CreatedAt = fromMilli(stored)
	l.Metadata = json.RawMessage(meta)
	return nil
}

// Get returns one login, or nil if there is none.
func (lq *LoginQuery) Get(ctx context.Context, net network.NetworkID, loginID network.LoginID) (*Login, error) {
	l, err := lq.qh.QueryOne(ctx, getLogin+` WHERE network = $1 AND id = $2`, net, loginID)
	if err != nil {
		return nil, fmt.Errorf("get login %s/%s: %w", net, loginID, err)
	}
	return l, nil
}

// ByUser returns a Matrix user's logins on all networks, oldest first.
func (lq *LoginQuery) ByUser(ctx context.Context, mxid id.UserID) ([]*Login, error) {
	ls, err := queryMany(ctx, lq.qh, getLogin+` WHERE user_mxid = $1 ORDER BY created_at, network, id`, mxid)
	if err != nil {
		return nil, fmt.Errorf("get logins of %s: %w", mxid, err)
	}
	return ls, nil
}

// ByNetwork returns all logins on one network, oldest first; the network
// connector uses it to reconnect everyone at start-up.
func (lq *LoginQuery) ByNetwork(ctx context.Context, net network.NetworkID) ([]*Login, error) {
	ls, err := queryMany(ctx, lq.qh, getLogin+` WHERE network = $1 ORDER BY created_at, id`, net)
	if err != nil {
		return nil, fmt.Errorf("get logins on %s: %w", net, err)
	}
	return ls, nil
}

// CountByNetwork returns how many logins each network has stored.
func (lq *LoginQuery) CountByNetwork(ctx context.Context) (map[network.NetworkID]int, error) {
	rows, err := lq.qh.GetDB().Query(ctx, `SELECT network, COUNT(*) FROM login GROUP BY network`)
	if err != nil {
		return nil, fmt.Errorf("count logins by network: %w", err)
	}
	defer rows.Close()
	counts := map[network.NetworkID]int{}
	for rows.Next() {
		var net network.NetworkID
		var n int
		if err = rows.Scan(&net, &n); err != nil {
			return nil, fmt.Errorf("count logins by network: %w", err)
		}
		counts[net] = n
	}
	if err = rows.Err(); err != nil {
		return nil, fmt.Errorf("count logins by network: %w", err)
	}
	return counts, nil
}

// All returns every login, oldest first.
func (lq *LoginQuery) All(ctx context.Context) ([]*Login, error) {
	ls, err := queryMany(ctx, lq.qh, getLogin+` ORDER BY created_at, network, id`)
	if err != nil {
		return nil, fmt.Errorf("get all logins: %w", err)
	}
	return ls, nil
}

// Delete removes a login and, through foreign keys, its user portal rows.
// Portals whose receiver is this login are left alone: tearing down their
// rooms is the caller's decision (find them with PortalQuery.ByReceiver).
// Deleting a missing login is not an error.
func (lq *LoginQuery) Delete(ctx context.Context, net network.NetworkID, loginID network.LoginID) error {
	if err := lq.qh.Exec(ctx, deleteLogin, net, loginID); err != nil {
		return fmt.Errorf("delete login %s/%s: %w", net, loginID, err)
	}
	return nil
}
