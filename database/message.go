package database

import (
	"context"
	"fmt"
	"time"

	"go.mau.fi/util/dbutil"
	"maunium.net/go/mautrix/id"

	"github.com/ferrybridge/ferry/bridge/network"
)

// Message maps one part of a remote message to the Matrix event it became.
type Message struct {
	Portal     network.PortalKey
	ID         network.MessageID
	Part       network.PartID
	EventID    id.EventID // unique across all messages
	RoomID     id.RoomID
	Sender     network.UserID
	SenderMXID id.UserID // the ghost or (for messages from Matrix) the real user
	Timestamp  time.Time
	EditCount  int
	// Placeholder marks a stand-in the network sent for a message it could
	// not show yet; the real message replaces it.
	Placeholder bool
}

// MessageQuery reads and writes the message table. The parts of a message
// are ordered by insertion (a hidden sequence column), so the first part
// stored is the "first part" that replies and reactions point at.
type MessageQuery struct {
	qh *dbutil.QueryHelper[*Message]
}

func newMessage() *Message { return &Message{} }

const (
	messageColumns = `network, chat_id, receiver, id, part, event_id, room_id,
		sender, sender_mxid, timestamp, edit_count, placeholder`
	getMessage = `SELECT ` + messageColumns + ` FROM message`
	// messageWhere selects all parts of one message, parameters $1..$4.
	messageWhere  = portalKeyWhere + ` AND id = $4`
	insertMessage = `INSERT INTO message (` + messageColumns + `)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)`
	getMessagePart      = getMessage + ` WHERE ` + messageWhere + ` AND part = $5`
	getFirstMessagePart = getMessage + ` WHERE ` + messageWhere + ` ORDER BY seq LIMIT 1`
	getMessageParts     = getMessage + ` WHERE ` + messageWhere + ` ORDER BY seq`
	getMessageOfEvent   = getMessage + ` WHERE event_id = $1`
)

// Scan implements dbutil.DataStruct.
func (m *Message) Scan(row dbutil.Scannable) (*Message, error) {
	var ts int64
	err := row.Scan(&m.Portal.Network, &m.Portal.Chat, &m.Portal.Receiver, &m.ID, &m.Part,
		&m.EventID, &m.RoomID, &m.Sender, &m.SenderMXID, &ts, &m.EditCount, &m.Placeholder)
	if err != nil {
		return nil, err
	}
	m.Timestamp = fromMilli(ts)
	return m, nil
}

// Put inserts a message part. It never overwrites: if the part (portal, ID,
// Part) or its EventID is already stored, the error wraps ErrDuplicate, so
// a network redelivering a message can be recognised with errors.Is. The
// portal must exist.
func (q *MessageQuery) Put(ctx context.Context, m *Message) error {
	err := q.qh.Exec(ctx, insertMessage,
		m.Portal.Network, m.Portal.Chat, m.Portal.Receiver, m.ID, m.Part, m.EventID, m.RoomID,
		m.Sender, m.SenderMXID, toMilli(m.Timestamp), m.EditCount, m.Placeholder)
	if isUniqueViolation(err) {
		return fmt.Errorf("insert message %s/%s part %q: %w (%w)", m.Portal, m.ID, m.Part, ErrDuplicate, err)
	} else if err != nil {
		return fmt.Errorf("insert message %s/%s part %q: %w", m.Portal, m.ID, m.Part, err)
	}
	return nil
}

// GetPart returns one part of a message, or nil.
func (q *MessageQuery) GetPart(ctx context.Context, portal network.PortalKey, msgID network.MessageID, part network.PartID) (*Message, error) {
	m, err := q.qh.QueryOne(ctx, getMessagePart,
		portal.Network, portal.Chat, portal.Receiver, msgID, part)
	if err != nil {
		return nil, fmt.Errorf("get message %s/%s part %q: %w", portal, msgID, part, err)
	}
	return m, nil
}

// GetFirstPart returns the first stored part of a message, or nil.
func (q *MessageQuery) GetFirstPart(ctx context.Context, portal network.PortalKey, msgID network.MessageID) (*Message, error) {
	m, err := q.qh.QueryOne(ctx, getFirstMessagePart,
		portal.Network, portal.Chat, portal.Receiver, msgID)
	if err != nil {
		return nil, fmt.Errorf("get first part of message %s/%s: %w", portal, msgID, err)
	}
	return m, nil
}

// GetParts returns all parts of a message in insertion order (nil when
// there are none).
func (q *MessageQuery) GetParts(ctx context.Context, portal network.PortalKey, msgID network.MessageID) ([]*Message, error) {
	ms, err := queryMany(ctx, q.qh, getMessageParts,
		portal.Network, portal.Chat, portal.Receiver, msgID)
	if err != nil {
		return nil, fmt.Errorf("get parts of message %s/%s: %w", portal, msgID, err)
	}
	return ms, nil
}

// GetByEventID returns the message part a Matrix event belongs to, or nil.
func (q *MessageQuery) GetByEventID(ctx context.Context, eventID id.EventID) (*Message, error) {
	m, err := q.qh.QueryOne(ctx, getMessageOfEvent, eventID)
	if err != nil {
		return nil, fmt.Errorf("get message of event %s: %w", eventID, err)
	}
	return m, nil
}

// Delete removes all parts of a message and, through the foreign key, the
// reactions to them. Deleting a missing message is not an error.
func (q *MessageQuery) Delete(ctx context.Context, portal network.PortalKey, msgID network.MessageID) error {
	err := q.qh.Exec(ctx, `DELETE FROM message WHERE `+messageWhere,
		portal.Network, portal.Chat, portal.Receiver, msgID)
	if err != nil {
		return fmt.Errorf("delete message %s/%s: %w", portal, msgID, err)
	}
	return nil
}

// DeletePart removes one part of a message and, through the foreign key,
// the reactions to it; the message's other parts stay. Deleting a missing
// part is not an error.
func (q *MessageQuery) DeletePart(ctx context.Context, portal network.PortalKey, msgID network.MessageID, part network.PartID) error {
	err := q.qh.Exec(ctx, `DELETE FROM message WHERE `+messageWhere+` AND part = $5`,
		portal.Network, portal.Chat, portal.Receiver, msgID, part)
	if err != nil {
		return fmt.Errorf("delete part %q of message %s/%s: %w", part, portal, msgID, err)
	}
	return nil
}

// Latest returns the newest message part in a portal by timestamp (ties
// broken by insertion order), or nil if the portal has none. Backfill uses
// it to know where to resume.
func (q *MessageQuery) Latest(ctx context.Context, portal network.PortalKey) (*Message, error) {
	m, err := q.qh.QueryOne(ctx,
		getMessage+` WHERE `+portalKeyWhere+` ORDER BY timestamp DESC, seq DESC LIMIT 1`,
		portal.Network, portal.Chat, portal.Receiver)
	if err != nil {
		return nil, fmt.Errorf("get latest message in %s: %w", portal, err)
	}
	return m, nil
}

// BumpEditCount adds one to a part's edit count, atomically so concurrent
// edits are all counted. A missing part is not an error.
func (q *MessageQuery) BumpEditCount(ctx context.Context, portal network.PortalKey, msgID network.MessageID, part network.PartID) error {
	err := q.qh.Exec(ctx, `UPDATE message SET edit_count = edit_count + 1 WHERE `+messageWhere+` AND part = $5`,
		portal.Network, portal.Chat, portal.Receiver, msgID, part)
	if err != nil {
		return fmt.Errorf("bump edit count of %s/%s part %q: %w", portal, msgID, part, err)
	}
	return nil
}

// ClearPlaceholder marks a message's stand-in as replaced by the real
// message, whose first part is part: the stand-in's row (a placeholder has
// one part) takes that part ID so later parts and edits find it. A message
// that is missing or no longer a placeholder is left alone.
func (q *MessageQuery) ClearPlaceholder(ctx context.Context, portal network.PortalKey, msgID network.MessageID, part network.PartID) error {
	err := q.qh.Exec(ctx, `UPDATE message SET placeholder = false, part = $5 WHERE `+messageWhere+` AND placeholder`,
		portal.Network, portal.Chat, portal.Receiver, msgID, part)
	if err != nil {
		return fmt.Errorf("clear placeholder of %s/%s: %w", portal, msgID, err)
	}
	return nil
}
