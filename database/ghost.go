package database

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"

	"go.mau.fi/util/dbutil"
	"maunium.net/go/mautrix/id"

	"github.com/ferrybridge/ferry/bridge/network"
)

// Ghost is the Matrix puppet of a remote person.
type Ghost struct {
	Key       network.GhostKey
	MXID      id.UserID // unique when set
	Name      string
	AvatarID  string // remote avatar identity, as for Portal.AvatarID
	AvatarMXC id.ContentURIString
	// NameSet and AvatarSet record whether the profile was actually
	// updated on the homeserver; Registered whether the appservice has
	// registered the user. Each is retried until true.
	NameSet, AvatarSet, Registered bool
	Metadata                       json.RawMessage
}

// GhostQuery reads and writes the ghost table.
type GhostQuery struct {
	qh *dbutil.QueryHelper[*Ghost]
}

func newGhost() *Ghost { return &Ghost{} }

const (
	ghostColumns = `network, user_id, mxid, name, avatar_id, avatar_mxc, name_set, avatar_set, registered, metadata`
	getGhost     = `SELECT ` + ghostColumns + ` FROM ghost`
	putGhost     = `
		INSERT INTO ghost (` + ghostColumns + `) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
		ON CONFLICT (network, user_id) DO UPDATE SET
			mxid = excluded.mxid, name = excluded.name, avatar_id = excluded.avatar_id,
			avatar_mxc = excluded.avatar_mxc, name_set = excluded.name_set,
			avatar_set = excluded.avatar_set, registered = excluded.registered,
			metadata = excluded.metadata`
)

// Scan implements dbutil.DataStruct.
func (g *Ghost) Scan(row dbutil.Scannable) (*Ghost, error) {
	var mxid sql.NullString
	var meta string
	err := row.Scan(&g.Key.Network, &g.Key.User, &mxid, &g.Name, &g.AvatarID, &g.AvatarMXC,
		&g.NameSet, &g.AvatarSet, &g.Registered, &meta)
	if err != nil {
		return nil, err
	}
	g.MXID = id.UserID(mxid.String)
	g.Metadata = scanMetadata(meta)
	return g, nil
}

// Put inserts or updates a ghost; nil metadata becomes {} in g as in the
// row.
func (q *GhostQuery) Put(ctx context.Context, g *Ghost) error {
	meta, err := metadataValue(g.Metadata)
	if err != nil {
		return fmt.Errorf("put ghost %s: %w", g.Key, err)
	}
	err = q.qh.Exec(ctx, putGhost, g.Key.Network, g.Key.User, dbutil.StrPtr(g.MXID), storedText(g.Name),
		g.AvatarID, g.AvatarMXC, g.NameSet, g.AvatarSet, g.Registered, meta)
	if err != nil {
		return fmt.Errorf("put ghost %s: %w", g.Key, err)
	}
	g.Metadata = json.RawMessage(meta)
	return nil
}

// Get returns a ghost by key, or nil if there is none.
func (q *GhostQuery) Get(ctx context.Context, key network.GhostKey) (*Ghost, error) {
	g, err := q.qh.QueryOne(ctx, getGhost+` WHERE network = $1 AND user_id = $2`, key.Network, key.User)
	if err != nil {
		return nil, fmt.Errorf("get ghost %s: %w", key, err)
	}
	return g, nil
}

// GetByMXID returns the ghost with a Matrix user ID, or nil; it is how an
// event from a Matrix user is recognised as one of Ferry's own puppets.
func (q *GhostQuery) GetByMXID(ctx context.Context, mxid id.UserID) (*Ghost, error) {
	if mxid == "" {
		return nil, nil // stored as NULL, never matches
	}
	g, err := q.qh.QueryOne(ctx, getGhost+` WHERE mxid = $1`, mxid)
	if err != nil {
		return nil, fmt.Errorf("get ghost %s: %w", mxid, err)
	}
	return g, nil
}
