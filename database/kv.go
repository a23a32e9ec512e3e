package database

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"go.mau.fi/util/dbutil"
)

// KVQuery is a small string key/value store for bridge-wide state that does
// not deserve a table (e.g. whether the bot's profile has been set).
// Keys should be namespaced by their owner, e.g. "irc.sasl_warned".
type KVQuery struct {
	db *dbutil.Database
}

// Get returns the value of key and whether it exists.
func (q *KVQuery) Get(ctx context.Context, key string) (string, bool, error) {
	var value string
	err := q.db.QueryRow(ctx, `SELECT value FROM kv_store WHERE key = $1`, key).Scan(&value)
	if errors.Is(err, sql.ErrNoRows) {
		return "", false, nil
	} else if err != nil {
		return "", false, fmt.Errorf("get kv %q: %w", key, err)
	}
	return value, true, nil
}

// Set stores value under key, replacing any previous value.
func (q *KVQuery) Set(ctx context.Context, key, value string) error {
	_, err := q.db.Exec(ctx, `
		INSERT INTO kv_store (key, value) VALUES ($1, $2)
		ON CONFLICT (key) DO UPDATE SET value = excluded.value`, key, value)
	if err != nil {
		return fmt.Errorf("set kv %q: %w", key, err)
	}
	return nil
}

// Delete removes key; a missing key is not an error.
func (q *KVQuery) Delete(ctx context.Context, key string) error {
	if _, err := q.db.Exec(ctx, `DELETE FROM kv_store WHERE key = $1`, key); err != nil {
		return fmt.Errorf("delete kv %q: %w", key, err)
	}
	return nil
}
