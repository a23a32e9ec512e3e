package database

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"go.mau.fi/util/dbutil"
	"maunium.net/go/mautrix/id"
)

// QueuedEvent is a Matrix event in the durable inbound queue.
//
// The appservice answers a transaction with 200 only after its events are
// stored here, so an event is never lost between receipt and handling. It
// deduplicates by event ID, not transaction ID, because Dendrite need not
// reuse a transaction ID when it retries.
type QueuedEvent struct {
	Seq        int64 // set by Enqueue; strictly increasing, never reused
	EventID    id.EventID
	RoomID     id.RoomID
	Data       json.RawMessage // the event as received
	ReceivedAt time.Time       // set to now by Enqueue when zero
	HandledAt  time.Time       // zero while pending
}

// MatrixEventQuery reads and writes the matrix_event table.
type MatrixEventQuery struct {
	qh *dbutil.QueryHelper[*QueuedEvent]
}

func newQueuedEvent() *QueuedEvent { return &QueuedEvent{} }

const (
	queuedEventColumns = `seq, event_id, room_id, data, received_at, handled_at`
	// RETURNING yields no row when the event ID is already stored, which
	// is how Enqueue tells fresh events from duplicates in one statement.
	enqueueEvent = `
		INSERT INTO matrix_event (event_id, room_id, data, received_at) VALUES ($1, $2, $3, $4)
		ON CONFLICT (event_id) DO NOTHING
		RETURNING seq`
	markEventHandled = `UPDATE matrix_event SET handled_at = $1 WHERE event_id = $2 AND handled_at IS NULL`
	isEventStored    = `SELECT 1 FROM matrix_event WHERE event_id = $1`
)

// Scan implements dbutil.DataStruct.
func (e *QueuedEvent) Scan(row dbutil.Scannable) (*QueuedEvent, error) {
	var data string
	var received int64
	var handled sql.NullInt64
	err := row.Scan(&e.Seq, &e.EventID, &e.RoomID, &data, &received, &handled)
	if err != nil {
		return nil, err
	}
	e.Data = json.RawMessage(data)
	e.ReceivedAt = fromMilli(received)
	e.HandledAt = fromNullMilli(handled)
	return e, nil
}

// Enqueue stores evts in one transaction, skipping events whose ID is
// already stored (pending or handled, unless pruned since) or repeated
// earlier in evts. It returns the fresh events, in the order given, with
// Seq set; skipped events are left untouched. On error nothing is stored
// and no Seq is set.
//
// Seq increases across calls and restarts. On PostgreSQL, concurrent
// Enqueue calls may commit out of Seq order, so callers that rely on
// Pending's order must not enqueue concurrently (the appservice handles one
// transaction at a time).
func (q *MatrixEventQuery) Enqueue(ctx context.Context, evts []*QueuedEvent) ([]*QueuedEvent, error) {
	if len(evts) == 0 {
		return nil, nil
	}
	for _, evt := range evts {
		if evt.EventID == "" || len(evt.Data) == 0 {
			return nil, fmt.Errorf("enqueue matrix events: event %q has no ID or no data", evt.EventID)
		}
	}
	now := time.Now()
	fresh := make([]*QueuedEvent, 0, len(evts))
	seqs := make([]int64, 0, len(evts))
	received := make([]time.Time, 0, len(evts))
	insertAll := func(ctx context.Context) error {
		// Reset on every attempt so a retried function starts clean.
		fresh, seqs, received = fresh[:0], seqs[:0], received[:0]
		for _, evt := range evts {
			recv := evt.ReceivedAt
			if recv.IsZero() {
				recv = now
			}
			var seq int64
			err := q.qh.GetDB().QueryRow(ctx, enqueueEvent,
				evt.EventID, evt.RoomID, string(evt.Data), toMilli(recv)).Scan(&seq)
			if errors.Is(err, sql.ErrNoRows) {
				continue // duplicate
			} else if err != nil {
				return fmt.Errorf("insert %s: %w", evt.EventID, err)
			}
			fresh = append(fresh, evt)
			seqs = append(seqs, seq)
			received = append(received, fromMilli(toMilli(recv)))
		}
		return nil
	}
	var err error
	if len(evts) == 1 {
		// One statement is atomic by itself. A quiet room's transactions
		// hold one event each, and a transaction around it would cost a
		// BEGIN and a COMMIT, and dbutil's watchdog goroutine.
		err = insertAll(ctx)
	} else {
		err = q.qh.GetDB().DoTxn(ctx, nil, insertAll)
	}
	if err != nil {
		return nil, fmt.Errorf("enqueue matrix events: %w", err)
	}
	// Only now that the transaction has committed do the caller's structs
	// learn their sequence numbers.
	for i, evt := range fresh {
		evt.Seq = seqs[i]
		evt.ReceivedAt = received[i]
	}
	return fresh, nil
}

// Stored returns which of ids are stored (pending, or handled and not
// pruned since): events the homeserver delivers again.
func (q *MatrixEventQuery) Stored(ctx context.Context, ids []id.EventID) (map[id.EventID]bool, error) {
	stored := make(map[id.EventID]bool)
	if len(ids) == 1 {
		// A quiet room's transactions hold one event each: one statement
		// kept prepared (perMessageStatements) rather than one parsed
		// for its number of events.
		var one int
		err := q.qh.GetDB().QueryRow(ctx, isEventStored, ids[0]).Scan(&one)
		if err != nil && !errors.Is(err, sql.ErrNoRows) {
			return nil, fmt.Errorf("look up stored matrix event: %w", err)
		}
		if err == nil {
			stored[ids[0]] = true
		}
		return stored, nil
	}
	// Dendrite and Synapse send at most 50 and 100 events a transaction;
	// chunks keep a larger one under SQLite's limit on parameters.
	const chunk = 500
	for start := 0; start < len(ids); start += chunk {
		if err := q.storedAmong(ctx, ids[start:min(start+chunk, len(ids))], stored); err != nil {
			return nil, fmt.Errorf("look up stored matrix events: %w", err)
		}
	}
	return stored, nil
}

func (q *MatrixEventQuery) storedAmong(ctx context.Context, ids []id.EventID, stored map[id.EventID]bool) error {
	var query strings.Builder
	query.WriteString(`SELECT event_id FROM matrix_event WHERE event_id IN (`)
	args := make([]any, len(ids))
	for i, evtID := range ids {
		if i > 0 {
			query.WriteByte(',')
		}
		fmt.Fprintf(&query, "$%d", i+1)
		args[i] = evtID
	}
	query.WriteByte(')')
	rows, err := q.qh.GetDB().Query(ctx, query.String(), args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var evtID id.EventID
		if err = rows.Scan(&evtID); err != nil {
			return err
		}
		stored[evtID] = true
	}
	if err = rows.Err(); err != nil {
		return err
	}
	return rows.Close()
}

// Pending returns the unhandled events, oldest (lowest Seq) first.
func (q *MatrixEventQuery) Pending(ctx context.Context) ([]*QueuedEvent, error) {
	evts, err := queryMany(ctx, q.qh,
		`SELECT `+queuedEventColumns+` FROM matrix_event WHERE handled_at IS NULL ORDER BY seq`)
	if err != nil {
		return nil, fmt.Errorf("get pending matrix events: %w", err)
	}
	return evts, nil
}

// MarkHandled records that an event has been handled, now. The event stays
// stored (for deduplication) until PruneHandled removes it. Marking a
// missing or already handled event is not an error and keeps the first
// handling time.
func (q *MatrixEventQuery) MarkHandled(ctx context.Context, eventID id.EventID) error {
	err := q.qh.Exec(ctx, markEventHandled, time.Now().UnixMilli(), eventID)
	if err != nil {
		return fmt.Errorf("mark matrix event %s handled: %w", eventID, err)
	}
	return nil
}

// MarkHandledAndScrub marks an event handled, as MarkHandled does, and
// empties its stored body: it held a secret (a password typed for a
// login), which must not stay in the database until PruneHandled. The row
// stays, so that a redelivery is still recognised.
func (q *MatrixEventQuery) MarkHandledAndScrub(ctx context.Context, eventID id.EventID) error {
	err := q.qh.Exec(ctx, `UPDATE matrix_event SET handled_at = COALESCE(handled_at, $1), data = '{}' WHERE event_id = $2`,
		time.Now().UnixMilli(), eventID)
	if err != nil {
		return fmt.Errorf("mark matrix event %s handled and scrub it: %w", eventID, err)
	}
	return nil
}

// ScrubbedSince returns the events handled at or after since whose body
// MarkHandledAndScrub emptied, with when they were handled: the messages
// that held a secret, which Ferry remembers across a restart (an edit of
// one holds the secret too). No event a homeserver sends is "{}".
func (q *MatrixEventQuery) ScrubbedSince(ctx context.Context, since time.Time) (map[id.EventID]time.Time, error) {
	rows, err := q.qh.GetDB().Query(ctx,
		`SELECT event_id, handled_at FROM matrix_event WHERE handled_at >= $1 AND data = '{}'`, since.UnixMilli())
	if err != nil {
		return nil, fmt.Errorf("get scrubbed matrix events: %w", err)
	}
	defer rows.Close()
	scrubbed := make(map[id.EventID]time.Time)
	for rows.Next() {
		var evtID id.EventID
		var handled int64
		if err = rows.Scan(&evtID, &handled); err != nil {
			return nil, fmt.Errorf("get scrubbed matrix events: %w", err)
		}
		scrubbed[evtID] = fromMilli(handled)
	}
	if err = rows.Err(); err != nil {
		return nil, fmt.Errorf("get scrubbed matrix events: %w", err)
	}
	return scrubbed, nil
}

// PruneHandled deletes events handled before the given time and returns how
// many it deleted. A pruned event ID is forgotten, so a redelivery after
// that would be handled again: keep the retention well beyond how long the
// homeserver retries a transaction.
func (q *MatrixEventQuery) PruneHandled(ctx context.Context, before time.Time) (int64, error) {
	res, err := q.qh.GetDB().Exec(ctx,
		`DELETE FROM matrix_event WHERE handled_at IS NOT NULL AND handled_at < $1`, before.UnixMilli())
	if err != nil {
		return 0, fmt.Errorf("prune handled matrix events: %w", err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return 0, fmt.Errorf("prune handled matrix events: %w", err)
	}
	return n, nil
}
