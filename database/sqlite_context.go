package database

import (
	"context"
	"database/sql"
)

// uncancelledSQLite runs statements on SQLite without watching the
// caller's context for cancellation; its values (the logger) still pass.
//
// Watching costs a goroutine per statement: database/sql starts one per
// result set and per transaction, and the SQLite driver runs every Exec on
// a goroutine of its own, to be able to interrupt it. Every bridged
// message makes several statements, and on a small machine those wake-ups
// are most of a statement's time. What watching buys on SQLite is little:
// a statement never waits on a network, only on another connection's
// write lock, and that wait is bounded by the busy timeout. PostgreSQL
// statements keep watching, since a lost server must not hang the caller.
//
// Statements inside a transaction go through database/sql's own
// transaction type and still watch their context; the transaction itself
// does not.
type uncancelledSQLite struct{ db *sql.DB }

func (u uncancelledSQLite) ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error) {
	return u.db.ExecContext(context.WithoutCancel(ctx), query, args...)
}

func (u uncancelledSQLite) QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	return u.db.QueryContext(context.WithoutCancel(ctx), query, args...)
}

func (u uncancelledSQLite) QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row {
	return u.db.QueryRowContext(context.WithoutCancel(ctx), query, args...)
}

func (u uncancelledSQLite) BeginTx(ctx context.Context, opts *sql.TxOptions) (*sql.Tx, error) {
	return u.db.BeginTx(context.WithoutCancel(ctx), opts)
}
