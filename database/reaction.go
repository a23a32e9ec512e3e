package database

import (
	"context"
	"fmt"
	"time"

	"go.mau.fi/util/dbutil"
	"maunium.net/go/mautrix/id"

	"github.com/ferrybridge/ferry/bridge/network"
)

// Reaction maps a remote reaction to the Matrix reaction event. There is at
// most one per (portal, target, target part, sender, emoji ID).
type Reaction struct {
	Portal     network.PortalKey
	Target     network.MessageID
	TargetPart network.PartID
	Sender     network.UserID
	Emoji      network.EmojiID
	Key        string // the emoji text shown (the Matrix annotation key)
	// SenderMXID is the Matrix user who sent the reaction from Matrix
	// through Ferry; empty for one the sender's ghost sent.
	SenderMXID id.UserID
	EventID    id.EventID
	RoomID     id.RoomID
	Timestamp  time.Time
}

// ReactionQuery reads and writes the reaction table. The target message
// part must be stored first; reactions are deleted with it.
type ReactionQuery struct {
	qh *dbutil.QueryHelper[*Reaction]
}

func newReaction() *Reaction { return &Reaction{} }

const (
	reactionColumns = `network, chat_id, receiver, target_id, target_part, sender, emoji_id,
		emoji, event_id, room_id, timestamp, sender_mxid`
	getReaction = `SELECT ` + reactionColumns + ` FROM reaction`
	putReaction = `
		INSERT INTO reaction (` + reactionColumns + `)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)
		ON CONFLICT (network, chat_id, receiver, target_id, target_part, sender, emoji_id) DO UPDATE SET
			emoji = excluded.emoji, event_id = excluded.event_id, room_id = excluded.room_id,
			timestamp = excluded.timestamp, sender_mxid = excluded.sender_mxid`
	deleteReaction = `DELETE FROM reaction WHERE ` + portalKeyWhere + `
		AND target_id = $4 AND target_part = $5 AND sender = $6 AND emoji_id = $7`
)

// Scan implements dbutil.DataStruct.
func (r *Reaction) Scan(row dbutil.Scannable) (*Reaction, error) {
	var ts int64
	err := row.Scan(&r.Portal.Network, &r.Portal.Chat, &r.Portal.Receiver, &r.Target, &r.TargetPart,
		&r.Sender, &r.Emoji, &r.Key, &r.EventID, &r.RoomID, &ts, &r.SenderMXID)
	if err != nil {
		return nil, err
	}
	r.Timestamp = fromMilli(ts)
	return r, nil
}

// Put inserts a reaction or replaces the one with the same identity, e.g.
// on networks with one reaction per user (Emoji "") a new emoji replaces
// the old row's Key and EventID.
func (q *ReactionQuery) Put(ctx context.Context, r *Reaction) error {
	err := q.qh.Exec(ctx, putReaction,
		r.Portal.Network, r.Portal.Chat, r.Portal.Receiver, r.Target, r.TargetPart, r.Sender, r.Emoji,
		r.Key, r.EventID, r.RoomID, toMilli(r.Timestamp), r.SenderMXID)
	if err != nil {
		return fmt.Errorf("put reaction %s/%s by %s: %w", r.Portal, r.Target, r.Sender, err)
	}
	return nil
}

// Get returns a sender's reaction with one emoji to a message, or nil.
// Networks address reactions by message, not part, so all parts are
// searched; if the sender reacted to several parts with the same emoji the
// newest reaction is returned.
func (q *ReactionQuery) Get(ctx context.Context, portal network.PortalKey, target network.MessageID, sender network.UserID, emoji network.EmojiID) (*Reaction, error) {
	r, err := q.qh.QueryOne(ctx, getReaction+` WHERE `+portalKeyWhere+`
		AND target_id = $4 AND sender = $5 AND emoji_id = $6
		ORDER BY timestamp DESC, target_part LIMIT 1`,
		portal.Network, portal.Chat, portal.Receiver, target, sender, emoji)
	if err != nil {
		return nil, fmt.Errorf("get reaction %s/%s by %s: %w", portal, target, sender, err)
	}
	return r, nil
}

// GetByEventID returns the reaction a Matrix event is, or nil.
func (q *ReactionQuery) GetByEventID(ctx context.Context, evtID id.EventID) (*Reaction, error) {
	r, err := q.qh.QueryOne(ctx, getReaction+` WHERE event_id = $1`, evtID)
	if err != nil {
		return nil, fmt.Errorf("get reaction of event %s: %w", evtID, err)
	}
	return r, nil
}

// Delete removes the reaction with r's identity (portal, target, target
// part, sender, emoji); the other fields are ignored. A missing reaction is
// not an error.
func (q *ReactionQuery) Delete(ctx context.Context, r *Reaction) error {
	err := q.qh.Exec(ctx, deleteReaction,
		r.Portal.Network, r.Portal.Chat, r.Portal.Receiver, r.Target, r.TargetPart, r.Sender, r.Emoji)
	if err != nil {
		return fmt.Errorf("delete reaction %s/%s by %s: %w", r.Portal, r.Target, r.Sender, err)
	}
	return nil
}

// ByTarget returns all reactions to any part of a message, oldest first.
func (q *ReactionQuery) ByTarget(ctx context.Context, portal network.PortalKey, target network.MessageID) ([]*Reaction, error) {
	rs, err := queryMany(ctx, q.qh, getReaction+` WHERE `+portalKeyWhere+` AND target_id = $4
		ORDER BY timestamp, target_part, sender, emoji_id`,
		portal.Network, portal.Chat, portal.Receiver, target)
	if err != nil {
		return nil, fmt.Errorf("get reactions to %s/%s: %w", portal, target, err)
	}
	return rs, nil
}
