package database

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"time"

	"go.mau.fi/util/dbutil"
	"maunium.net/go/mautrix/id"

	"github.com/ferrybridge/ferry/bridge/network"
)

// Portal is a remote chat and the Matrix room that mirrors it.
type Portal struct {
	Key    network.PortalKey
	RoomID id.RoomID // "" until the room is created; unique when set
	Name   string
	Topic  string
	// AvatarID is the remote avatar's identity, so an unchanged avatar is
	// not downloaded and uploaded again.
	AvatarID  string
	AvatarMXC id.ContentURIString
	// NameSet, TopicSet and AvatarSet record whether the value above has
	// actually been applied to the room (it may have failed or been
	// deferred), so it is retried instead of assumed.
	NameSet, TopicSet, AvatarSet bool
	IsDirect                     bool
	OtherUser                    network.UserID  // the DM peer; "" unless IsDirect
	RelayLogin                   network.LoginID // "" = relaying off
	Metadata                     json.RawMessage
	CreatedAt                    time.Time
}

// PortalQuery reads and writes the portal table.
type PortalQuery struct {
	qh *dbutil.QueryHelper[*Portal]
}

func newPortal() *Portal { return &Portal{} }

// portalKeyWhere matches one portal by its key; the other tables use the
// same three column names for the portal they belong to.
const portalKeyWhere = `network = $1 AND chat_id = $2 AND receiver = $3`

const (
	portalColumns = `network, chat_id, receiver, room_id, name, topic, avatar_id, avatar_mxc,
		name_set, topic_set, avatar_set, is_direct, other_user, relay_login, metadata, created_at`
	getPortal = `SELECT ` + portalColumns + ` FROM portal`
	putPortal = `
		INSERT INTO portal (` + portalColumns + `)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16)
		ON CONFLICT (network, chat_id, receiver) DO UPDATE SET
			room_id = excluded.room_id, name = excluded.name, topic = excluded.topic,
			avatar_id = excluded.avatar_id, avatar_mxc = excluded.avatar_mxc,
			name_set = excluded.name_set, topic_set = excluded.topic_set,
			avatar_set = excluded.avatar_set, is_direct = excluded.is_direct,
			other_user = excluded.other_user, relay_login = excluded.relay_login,
			metadata = excluded.metadata
		RETURNING created_at`
	deletePortal = `DELETE FROM portal WHERE ` + portalKeyWhere
)

// Scan implements dbutil.DataStruct.
func (p *Portal) Scan(row dbutil.Scannable) (*Portal, error) {
	var roomID sql.NullString
	var meta string
	var created int64
	err := row.Scan(
		&p.Key.Network, &p.Key.Chat, &p.Key.Receiver, &roomID, &p.Name, &p.Topic,
		&p.AvatarID, &p.AvatarMXC, &p.NameSet, &p.TopicSet, &p.AvatarSet, &p.IsDirect,
		&p.OtherUser, &p.RelayLogin, &meta, &created,
	)
	if err != nil {
		return nil, err
	}
	p.RoomID = id.RoomID(roomID.String)
	p.Metadata = scanMetadata(meta)
	p.CreatedAt = fromMilli(created)
	return p, nil
}

// Put inserts or updates a portal. Like LoginQuery.Put, it sets a zero
// CreatedAt to now on insert, reloads the stored one on update and sets nil
// metadata to {}. Putting
// a RoomID that another portal already has fails: one room mirrors one chat.
func (q *PortalQuery) Put(ctx context.Context, p *Portal) error {
	meta, err := metadataValue(p.Metadata)
	if err != nil {
		return fmt.Errorf("put portal %s: %w", p.Key, err)
	}
	created := p.CreatedAt
	if created.IsZero() {
		created = time.Now()
	}
	var stored int64
	err = q.qh.GetDB().QueryRow(ctx, putPortal,
		p.Key.Network, p.Key.Chat, p.Key.Receiver, dbutil.StrPtr(p.RoomID), storedText(p.Name), storedText(p.Topic),
		p.AvatarID, p.AvatarMXC, p.NameSet, p.TopicSet, p.AvatarSet, p.IsDirect,
		p.OtherUser, p.RelayLogin, meta, toMilli(created),
	).Scan(&stored)
	if err != nil {
		return fmt.Errorf("put portal %s: %w", p.Key, err)
	}
	p.CreatedAt = fromMilli(stored)
	p.Metadata = json.RawMessage(meta)
	return nil
}

// Get returns a portal by key, or nil if there is none.
func (q *PortalQuery) Get(ctx context.Context, key network.PortalKey) (*Portal, error) {
	p, err := q.qh.QueryOne(ctx, getPortal+` WHERE `+portalKeyWhere, key.Network, key.Chat, key.Receiver)
	if err != nil {
		return nil, fmt.Errorf("get portal %s: %w", key, err)
	}
	return p, nil
}

// GetByRoom returns the portal bridged to a Matrix room, or nil.
func (q *PortalQuery) GetByRoom(ctx context.Context, roomID id.RoomID) (*Portal, error) {
	if roomID == "" {
		// "" is stored as NULL and would never match; say so explicitly
		// rather than relying on it.
		return nil, nil
	}
	p, err := q.qh.QueryOne(ctx, getPortal+` WHERE room_id = $1`, roomID)
	if err != nil {
		return nil, fmt.Errorf("get portal of room %s: %w", roomID, err)
	}
	return p, nil
}

// ByReceiver returns the portals that exist only for one login (its DMs and
// per-account chats), oldest first. Shared portals have receiver "" and are
// returned for login "".
func (q *PortalQuery) ByReceiver(ctx context.Context, net network.NetworkID, login network.LoginID) ([]*Portal, error) {
	ps, err := queryMany(ctx, q.qh,
		getPortal+` WHERE network = $1 AND receiver = $2 ORDER BY created_at, chat_id`, net, login)
	if err != nil {
		return nil, fmt.Errorf("get portals of %s/%s: %w", net, login, err)
	}
	return ps, nil
}

// Delete removes a portal together with its messages, reactions and user
// portal rows (foreign keys cascade). Deleting a missing portal is not an
// error.
func (q *PortalQuery) Delete(ctx context.Context, key network.PortalKey) error {
	if err := q.qh.Exec(ctx, deletePortal, key.Network, key.Chat, key.Receiver); err != nil {
		return fmt.Errorf("delete portal %s: %w", key, err)
	}
	return nil
}

// Rekey moves the portal from to the key to: its messages, their
// reactions and its user rows follow through the foreign keys (ON UPDATE
// CASCADE), and so do its remote events still waiting in the durable
// queue. A row at to without a room (a chat that was looked at but never
// got one) gives way; one with a room makes the error wrap ErrDuplicate.
// Moving a missing portal is not an error.
func (q *PortalQuery) Rekey(ctx context.Context, from, to network.PortalKey) error {
	if from.Network != to.Network {
		return fmt.Errorf("rekey portal %s to %s: the network differs", from, to)
	}
	db := q.qh.GetDB()
	err := db.DoTxn(ctx, nil, func(ctx context.Context) error {
		if _, err := db.Exec(ctx, `DELETE FROM portal WHERE `+portalKeyWhere+` AND room_id IS NULL`,
			to.Network, to.Chat, to.Receiver); err != nil {
			return err
		}
		if _, err := db.Exec(ctx, `UPDATE portal SET chat_id = $4, receiver = $5 WHERE `+portalKeyWhere,
			from.Network, from.Chat, from.Receiver, to.Chat, to.Receiver); err != nil {
			return err
		}
		_, err := db.Exec(ctx, `UPDATE remote_event SET chat_id = $4, receiver = $5 WHERE `+portalKeyWhere,
			from.Network, from.Chat, from.Receiver, to.Chat, to.Receiver)
		return err
	})
	if isUniqueViolation(err) {
		return fmt.Errorf("rekey portal %s to %s: %w (%w)", from, to, ErrDuplicate, err)
	} else if err != nil {
		return fmt.Errorf("rekey portal %s to %s: %w", from, to, err)
	}
	return nil
}
