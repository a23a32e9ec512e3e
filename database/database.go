// Package database is Ferry's persistent state: logins, portals, ghosts,
// the message and reaction mappings between remote networks and Matrix, a
// small key/value store and the durable inbound queue of Matrix events.
//
// The same schema runs on SQLite and PostgreSQL (see the upgrades package).
// Conventions every query type follows:
//
//   - Every method takes the context first; inside dbutil.Database.DoTxn the
//     context carries the transaction, so queries compose into transactions.
//   - A Get of a missing row returns (nil, nil), never sql.ErrNoRows.
//   - Times are stored as unix milliseconds, so they come back truncated to
//     the millisecond and in the local time zone. The zero time.Time is
//     stored as 0 and read back as the zero time.
//   - Metadata (json.RawMessage) must be valid JSON. Nil or empty metadata is
//     stored as {} (Put also sets it to {} in the caller's struct) and always
//     read back as {}, never nil, so callers can json.Unmarshal it
//     unconditionally.
//   - Queries returning several rows return nil, not an empty slice, when
//     nothing matches.
//   - Rows that hang off a portal (messages, reactions, user portals) have
//     foreign keys to it and are deleted with it; reactions are deleted with
//     their target message; user portals are deleted with their login.
//     Consequently a portal must be stored before its messages, and a message
//     before its reactions.
package database

import (
	"context"
	"database/sql"
	"fmt"
	"net/url"
	"strings"
	"time"

	// Both drivers are registered here rather than by callers so that Open
	// works from any binary or test that imports this package.
	_ "github.com/lib/pq"
	_ "github.com/mattn/go-sqlite3"
	"github.com/rs/zerolog"
	"go.mau.fi/util/dbutil"

	"github.com/ferrybridge/ferry/database/upgrades"
)

const (
	// DefaultType is the database type used when the configuration leaves it
	// empty. It is the name mautrix uses for "SQLite with foreign keys and
	// WAL", which is exactly what Open sets up.
	DefaultType = "sqlite3-fk-wal"

	// VersionTable records the schema version of Ferry's own tables. It is
	// not dbutil's default "version" so that other stores sharing the
	// database (whatsmeow) can keep their own version tables beside it.
	VersionTable = "ferry_version"

	// Owner is written to dbutil's database_owner table on first upgrade.
	// It makes Upgrade refuse a database that belongs to another program
	// (e.g. a mautrix bridge, whose tables have the same names as ours).
	Owner = "ferry"

	// DefaultSQLiteBusyTimeout is how long a SQLite connection waits for
	// the write lock before failing with "database is locked". It is long
	// because the lock may be held by the whatsmeow store sharing the file
	// (a history sync can write for a while), and waiting is always better
	// than dropping a bridged message. A _busy_timeout (or _timeout) in the
	// URI takes precedence.
	DefaultSQLiteBusyTimeout = 30 * time.Second
)

// Database is Ferry's database: the dbutil handle plus one query type per
// table.
type Database struct {
	*dbutil.Database
	Logins       *LoginQuery
	Portals      *PortalQuery
	UserPortals  *UserPortalQuery
	Ghosts       *GhostQuery
	Messages     *MessageQuery
	Reactions    *ReactionQuery
	KV           *KVQuery
	MatrixEvents *MatrixEventQuery
	RemoteEvents *RemoteEventQuery

	// inMemory: an in-memory SQLite database, which exists per connection
	// and so must keep exactly one (SetPool).
	inMemory bool
}

// SetPool sets the connection pool's bounds (a value of 0 or less leaves
// one as it is). An in-memory SQLite database keeps its one connection:
// a second would open an empty database, without tables.
func (db *Database) SetPool(maxOpen, maxIdle int) {
	if db.inMemory {
		return
	}
	if maxOpen > 0 {
		db.RawDB.SetMaxOpenConns(maxOpen)
	}
	if maxIdle > 0 {
		db.RawDB.SetMaxIdleConns(maxIdle)
	}
	// The pool keeps what a busy moment opened for as long as it stays
	// busy, not for good: an idle bridge goes back to one connection.
	db.RawDB.SetConnMaxIdleTime(ConnMaxIdleTime)
}

// ConnMaxIdleTime is how long a pooled connection may stay unused before
// it is closed.
var ConnMaxIdleTime = time.Minute

// Open opens a database without touching the schema (call Upgrade for
// that) and without connecting yet; the first query or Upgrade reports
// connection errors.
//
// dbType is "sqlite3-fk-wal" (the default when empty; any "sqlite…" name is
// treated the same, "…-fullsync" selects synchronous=FULL) or "postgres".
// For SQLite, uri is a go-sqlite3 DSN such as "file:ferry.db?_txlock=immediate".
// Open fills in what a shared, concurrently written file needs and the URI
// does not already say: foreign keys on, WAL, synchronous=NORMAL, a busy
// timeout (DefaultSQLiteBusyTimeout) and _txlock=immediate. The last one
// matters as much as the timeout: a deferred transaction that reads first
// and writes later fails at once with "database is locked" when another
// connection wrote in between, whatever the busy timeout.
func Open(dbType, uri string, log zerolog.Logger) (*Database, error) {
	if dbType == "" {
		dbType = DefaultType
	}
	dialect, err := dbutil.ParseDialect(dbType)
	if err != nil {
		return nil, fmt.Errorf("open database: %w", err)
	}
	var raw *sql.DB
	inMemory := false
	switch dialect {
	case dbutil.SQLite:
		if strings.HasPrefix(dbType, "litestream") {
			// Litestream needs its own pragmas (no auto-checkpoints, a
			// persistent WAL) that Open does not reproduce; refuse rather
			// than silently run it with ordinary settings.
			return nil, fmt.Errorf("open database: type %q is not supported, use %q", dbType, DefaultType)
		}
		dsn, err := sqliteDSN(uri, strings.HasSuffix(dbType, "-fullsync"))
		if err != nil {
			return nil, fmt.Errorf("open database: %w", err)
		}
		// The plain go-sqlite3 driver applies the pragmas from the DSN. The
		// "sqlite3-fk-wal" driver that dbutil's litestream package registers
		// would force busy_timeout back to 5s in its connect hook.
		raw, err = sql.Open("sqlite3", dsn)
		if err != nil {
			return nil, fmt.Errorf("open database: %w", err)
		}
		inMemory = isInMemory(dsn)
		configureSQLitePool(raw, dsn)
	case dbutil.Postgres:
		raw, err = sql.Open("postgres", uri)
		if err != nil {
			return nil, fmt.Errorf("open database: %w", err)
		}
		raw.SetMaxOpenConns(20)
		raw.SetMaxIdleConns(4)
		raw.SetConnMaxIdleTime(5 * time.Minute)
	default:
		return nil, fmt.Errorf("open database: unsupported database type %q", dbType)
	}
	inner, err := dbutil.NewWithDB(raw, dbType)
	if err != nil {
		_ = raw.Close()
		return nil, fmt.Errorf("open database: %w", err)
	}
	if dialect == dbutil.SQLite {
		inner.LoggingDB.UnderlyingExecable = newSQLiteExecable(raw)
	}
	inner.Owner = Owner
	inner.VersionTable = VersionTable
	inner.UpgradeTable = upgrades.Table
	inner.Log = dbutil.ZeroLogger(log.With().Str("db_section", "main").Logger())
	db := New(inner)
	db.inMemory = inMemory
	return db, nil
}

// New wraps an already opened dbutil database (whose UpgradeTable should be
// upgrades.Table) with Ferry's query types.
func New(db *dbutil.Database) *Database {
	return &Database{
		Database:     db,
		Logins:       &LoginQuery{dbutil.MakeQueryHelperSimple(db, newLogin)},
		Portals:      &PortalQuery{dbutil.MakeQueryHelperSimple(db, newPortal)},
		UserPortals:  &UserPortalQuery{dbutil.MakeQueryHelperSimple(db, newUserPortal)},
		Ghosts:       &GhostQuery{dbutil.MakeQueryHelperSimple(db, newGhost)},
		Messages:     &MessageQuery{dbutil.MakeQueryHelperSimple(db, newMessage)},
		Reactions:    &ReactionQuery{dbutil.MakeQueryHelperSimple(db, newReaction)},
		KV:           &KVQuery{db: db},
		RemoteEvents: &RemoteEventQuery{dbutil.MakeQueryHelperSimple(db, newRemoteEvent)},
		MatrixEvents: &MatrixEventQuery{dbutil.MakeQueryHelperSimple(db, newQueuedEvent)},
	}
}

// Upgrade brings the schema to the latest version. It is idempotent and
// refuses a database written by a newer Ferry or owned by another program.
func (db *Database) Upgrade(ctx context.Context) error {
	if err := db.Database.Upgrade(ctx); err != nil {
		return fmt.Errorf("upgrade database: %w", err)
	}
	return nil
}

// ReleaseCaches empties the page cache of SQLite's idle connections
// (PRAGMA shrink_memory), handing that memory back to the C allocator.
// Starting up (migrations, then every stored login and portal read back)
// leaves the pool's idle connection with most of a small database in its
// cache, about 0.3 MiB for a fresh one, that an idle bridge does not need;
// pages are read again, from the OS's file cache, when a query needs them.
// The connections stay open. PostgreSQL keeps its caches in the server, so
// there it does nothing.
func (db *Database) ReleaseCaches(ctx context.Context) error {
	if db.Dialect != dbutil.SQLite {
		return nil
	}
	// Every idle connection has a cache of its own; holding each one taken
	// makes the pool hand out the next idle one rather than the same again.
	// Only idle ones are taken: with none left (another query took it
	// meanwhile) Conn would open a new connection, or wait for one.
	idle := db.RawDB.Stats().Idle
	conns := make([]*sql.Conn, 0, idle)
	defer func() {
		for _, c := range conns {
			_ = c.Close()
		}
	}()
	for range idle {
		if db.RawDB.Stats().Idle == 0 {
			break
		}
		c, err := db.RawDB.Conn(ctx)
		if err != nil {
			return fmt.Errorf("release SQLite caches: %w", err)
		}
		conns = append(conns, c)
		if _, err = c.ExecContext(ctx, "PRAGMA shrink_memory"); err != nil {
			return fmt.Errorf("release SQLite caches: %w", err)
		}
	}
	return nil
}

// sqliteDSN adds the connection settings Ferry relies on to a go-sqlite3
// DSN, keeping whatever the configured URI already sets (including the
// driver's short aliases such as _fk or _timeout).
func sqliteDSN(uri string, fullSync bool) (string, error) {
	if uri == "" {
		return "", fmt.Errorf("empty SQLite URI")
	}
	_, rawQuery, _ := strings.Cut(uri, "?")
	params, err := url.ParseQuery(rawQuery)
	if err != nil {
		return "", fmt.Errorf("parse SQLite URI parameters: %w", err)
	}
	sync := "NORMAL"
	if fullSync {
		sync = "FULL"
	}
	defaults := []struct{ keys, value string }{
		{"_foreign_keys _fk", "1"},
		{"_journal_mode _journal", "WAL"},
		{"_synchronous _sync", sync},
		{"_busy_timeout _timeout", fmt.Sprint(DefaultSQLiteBusyTimeout.Milliseconds())},
		{"_txlock", "immediate"},
	}
	var add []string
	for _, d := range defaults {
		keys := strings.Fields(d.keys)
		present := false
		for _, k := range keys {
			if params.Has(k) {
				present = true
			}
		}
		if !present {
			add = append(add, keys[0]+"="+d.value)
		}
	}
	if len(add) == 0 {
		return uri, nil
	}
	sep := "?"
	if strings.Contains(uri, "?") {
		sep = "&"
	}
	return uri + sep + strings.Join(add, "&"), nil
}

// configureSQLitePool keeps the pool small: SQLite runs one writer at a time
// anyway, and with WAL a handful of connections is plenty for concurrent
// readers. An in-memory database exists per connection, so it must use
// exactly one, kept open forever.
func configureSQLitePool(raw *sql.DB, dsn string) {
	if isInMemory(dsn) {
		raw.SetMaxOpenConns(1)
		raw.SetMaxIdleConns(1)
		raw.SetConnMaxLifetime(0)
		raw.SetConnMaxIdleTime(0)
		return
	}
	raw.SetMaxOpenConns(5)
	raw.SetMaxIdleConns(2)
	raw.SetConnMaxIdleTime(5 * time.Minute)
}

// isInMemory reports whether an SQLite DSN names an in-memory database.
func isInMemory(dsn string) bool {
	return strings.Contains(dsn, ":memory:") || strings.Contains(dsn, "mode=memory")
}
