package database

import (
	"context"
	"database/sql"
	"strings"
	"sync"
	"sync/atomic"
)

// sqliteExecable is what dbutil runs statements on outside a transaction
// when the database is SQLite. It changes two things, both for the cost of
// a bridged message on a small machine.
//
// It does not watch the caller's context for cancellation; the context's
// values (the logger) still pass. Watching costs a goroutine per
// statement: database/sql starts one per result set and per transaction,
// and the SQLite driver runs every Exec on a goroutine of its own, to be
// able to interrupt it. What watching buys on SQLite is little: a
// statement never waits on a network, only on another connection's write
// lock, and that wait is bounded by the busy timeout. PostgreSQL
// statements keep watching, since a lost server must not hang the caller.
//
// It keeps the statements every bridged message runs (perMessageStatements)
// prepared, one per connection, instead of having SQLite parse and plan
// them on every call. Between two messages of a conversation the
// processor's caches have gone cold, and then parsing and planning are
// about a third of a statement's time.
//
// Statements inside a transaction go through database/sql's own
// transaction type: they still watch their context and are not kept
// prepared. The transaction itself does not watch its context.
type sqliteExecable struct {
	db *sql.DB
	// prepared holds a slot per statement of perMessageStatements, keyed
	// by the text dbutil passes down (see sqlitePlaceholders). The map is
	// never written after newSQLiteExecable; the slots fill on first use.
	prepared map[string]*preparedStatement
}

// perMessageStatements are the statements that bridging one message runs,
// in either direction. Each is a single statement: a prepared statement
// runs only the first statement of its text.
var perMessageStatements = []string{
	isEventStored, enqueueEvent, markEventHandled,
	insertRemoteEvent, deleteRemoteEvent,
	getUserPortalOf,
	insertMessage, getMessagePart, getFirstMessagePart, getMessageParts, getMessageOfEvent,
}

type preparedStatement struct {
	mu   sync.Mutex // held while preparing
	stmt atomic.Pointer[sql.Stmt]
}

func newSQLiteExecable(db *sql.DB) *sqliteExecable {
	e := &sqliteExecable{db: db, prepared: make(map[string]*preparedStatement, len(perMessageStatements))}
	for _, q := range perMessageStatements {
		e.prepared[sqlitePlaceholders(q)] = &preparedStatement{}
	}
	return e
}

// sqlitePlaceholders rewrites "$1" placeholders to "?1", as dbutil does to
// every SQLite query before passing it down.
func sqlitePlaceholders(query string) string {
	var b strings.Builder
	b.Grow(len(query))
	for i := 0; i < len(query); i++ {
		c := query[i]
		if c == '$' && i+1 < len(query) && query[i+1] >= '0' && query[i+1] <= '9' {
			c = '?'
		}
		b.WriteByte(c)
	}
	return b.String()
}

// statement returns the prepared form of query, or nil when query is not
// kept prepared or cannot be prepared now (before the schema exists, say):
// then it runs unprepared, and reports its own error if it has one.
func (e *sqliteExecable) statement(ctx context.Context, query string) *sql.Stmt {
	slot := e.prepared[query]
	if slot == nil {
		return nil
	}
	if s := slot.stmt.Load(); s != nil {
		return s
	}
	slot.mu.Lock()
	defer slot.mu.Unlock()
	if s := slot.stmt.Load(); s != nil {
		return s
	}
	s, err := e.db.PrepareContext(ctx, query)
	if err != nil {
		return nil
	}
	slot.stmt.Store(s)
	return s
}

func (e *sqliteExecable) ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error) {
	ctx = context.WithoutCancel(ctx)
	if s := e.statement(ctx, query); s != nil {
		return s.ExecContext(ctx, args...)
	}
	return e.db.ExecContext(ctx, query, args...)
}

func (e *sqliteExecable) QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	ctx = context.WithoutCancel(ctx)
	if s := e.statement(ctx, query); s != nil {
		return s.QueryContext(ctx, args...)
	}
	return e.db.QueryContext(ctx, query, args...)
}

func (e *sqliteExecable) QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row {
	ctx = context.WithoutCancel(ctx)
	if s := e.statement(ctx, query); s != nil {
		return s.QueryRowContext(ctx, args...)
	}
	return e.db.QueryRowContext(ctx, query, args...)
}

func (e *sqliteExecable) BeginTx(ctx context.Context, opts *sql.TxOptions) (*sql.Tx, error) {
	return e.db.BeginTx(context.WithoutCancel(ctx), opts)
}
