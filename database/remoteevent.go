package database

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"go.mau.fi/util/dbutil"

	"github.com/ferrybridge/ferry/bridge/network"
)

// RemoteEvent is a remote event waiting in the durable queue of its
// portal: stored before it is queued in memory, deleted once bridged.
type RemoteEvent struct {
	Seq        int64 // set by Insert; increasing, never reused
	Portal     network.PortalKey
	Login      network.LoginID
	Payload    json.RawMessage // network.MarshalEvent's encoding
	ReceivedAt time.Time
}

// RemoteEventQuery reads and writes the remote_event table.
type RemoteEventQuery struct {
	qh *dbutil.QueryHelper[*RemoteEvent]
}

func newRemoteEvent() *RemoteEvent { return &RemoteEvent{} }

const (
	remoteEventColumns = `seq, network, chat_id, receiver, login_id, payload, received_at`
	insertRemoteEvent  = `
		INSERT INTO remote_event (network, chat_id, receiver, login_id, payload, received_at)
		VALUES ($1, $2, $3, $4, $5, $6) RETURNING seq`
	pendingRemoteEvents = `SELECT ` + remoteEventColumns + ` FROM remote_event ORDER BY seq`
	portalRemoteEvents  = `SELECT ` + remoteEventColumns + ` FROM remote_event
		WHERE network = $1 AND chat_id = $2 AND receiver = $3 AND seq > $4 ORDER BY seq LIMIT $5`
	deleteRemoteEvent = `DELETE FROM remote_event WHERE seq = $1`
)

// Scan implements dbutil.DataStruct.
func (e *RemoteEvent) Scan(row dbutil.Scannable) (*RemoteEvent, error) {
	var payload string
	var received int64
	err := row.Scan(&e.Seq, &e.Portal.Network, &e.Portal.Chat, &e.Portal.Receiver, &e.Login, &payload, &received)
	if err != nil {
		return nil, err
	}
	e.Payload = json.RawMessage(payload)
	e.ReceivedAt = fromMilli(received)
	return e, nil
}

// Insert stores e and sets its Seq (and ReceivedAt when zero).
func (q *RemoteEventQuery) Insert(ctx context.Context, e *RemoteEvent) error {
	if len(e.Payload) == 0 {
		return fmt.Errorf("insert remote event: empty payload")
	}
	if e.ReceivedAt.IsZero() {
		e.ReceivedAt = time.Now()
	}
	err := q.qh.GetDB().QueryRow(ctx, insertRemoteEvent,
		e.Portal.Network, e.Portal.Chat, e.Portal.Receiver, e.Login, string(e.Payload), toMilli(e.ReceivedAt),
	).Scan(&e.Seq)
	if err != nil {
		return fmt.Errorf("insert remote event: %w", err)
	}
	return nil
}

// Pending lists every queued event, oldest first.
func (q *RemoteEventQuery) Pending(ctx context.Context) ([]*RemoteEvent, error) {
	return queryMany(ctx, q.qh, pendingRemoteEvents)
}

// ForPortal lists up to limit queued events of one portal after seq.
func (q *RemoteEventQuery) ForPortal(ctx context.Context, key network.PortalKey, after int64, limit int) ([]*RemoteEvent, error) {
	return queryMany(ctx, q.qh, portalRemoteEvents, key.Network, key.Chat, key.Receiver, after, limit)
}

// Delete removes a bridged (or obsolete) event.
func (q *RemoteEventQuery) Delete(ctx context.Context, seq int64) error {
	return q.qh.Exec(ctx, deleteRemoteEvent, seq)
}
