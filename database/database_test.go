package database_test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rs/zerolog"
	"go.mau.fi/util/dbutil"

	"github.com/ferrybridge/ferry/bridge/network"
	"github.com/ferrybridge/ferry/database"
	"github.com/ferrybridge/ferry/database/upgrades"
	"github.com/ferrybridge/ferry/internal/dbtest"
)

func TestUpgradeIdempotent(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *database.Database) {
		putLogin(t, db, "irc", "alice@libera", "@alice:example.org")
		// dbtest already upgraded once.
		must(t, db.Upgrade(ctx))
		must(t, db.Upgrade(ctx))

		var version int
		must(t, db.QueryRow(ctx, "SELECT version FROM "+database.VersionTable).Scan(&version))
		if version != len(upgrades.Table) {
			t.Errorf("schema version = %d, want %d", version, len(upgrades.Table))
		}
		var owner string
		must(t, db.QueryRow(ctx, "SELECT owner FROM database_owner").Scan(&owner))
		if owner != database.Owner {
			t.Errorf("database owner = %q", owner)
		}
		if l, err := db.Logins.Get(ctx, "irc", "alice@libera"); err != nil || l == nil {
			t.Errorf("row lost over re-upgrade: %v, %v", l, err)
		}
	})
}

// Another program's database is refused rather than mixed with ours.
func TestUpgradeRefusesForeignOwner(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *database.Database) {
		_, err := db.Exec(ctx, "UPDATE database_owner SET owner = 'megabridge/whatsapp'")
		must(t, err)
		if err := db.Upgrade(ctx); !errors.Is(err, dbutil.ErrNotOwned) {
			t.Errorf("Upgrade of a foreign database: err = %v, want ErrNotOwned", err)
		}
	})
}

func TestOpenRejectsUnknownType(t *testing.T) {
	if _, err := database.Open("mysql", "x", zerolog.Nop()); err == nil {
		t.Error("Open(mysql) succeeded")
	}
	if _, err := database.Open("", "", zerolog.Nop()); err == nil {
		t.Error("Open with an empty SQLite URI succeeded")
	}
}

// Open turns a bare config URI into a connection that can share the file
// with other writers.
func TestSQLiteConnectionSettings(t *testing.T) {
	pragmas := func(t *testing.T, db *database.Database) map[string]string {
		t.Helper()
		out := map[string]string{}
		// Several connections at once, so this checks more than the first.
		var conns []*sql.Conn
		for range 3 {
			conn, err := db.RawDB.Conn(ctx)
			must(t, err)
			conns = append(conns, conn)
		}
		for i, conn := range conns {
			for _, p := range []string{"busy_timeout", "journal_mode", "foreign_keys", "synchronous"} {
				var v string
				must(t, conn.QueryRowContext(ctx, "PRAGMA "+p).Scan(&v))
				if i > 0 && out[p] != v {
					t.Errorf("connections disagree on %s: %q vs %q", p, out[p], v)
				}
				out[p] = v
			}
		}
		for _, c := range conns {
			_ = c.Close()
		}
		return out
	}

	t.Run("defaults", func(t *testing.T) {
		db := dbtest.Open(t, "", dbtest.SQLiteURI(t))
		got := pragmas(t, db)
		want := map[string]string{
			"busy_timeout": fmt.Sprint(database.DefaultSQLiteBusyTimeout.Milliseconds()),
			"journal_mode": "wal", "foreign_keys": "1", "synchronous": "1", // NORMAL
		}
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("pragmas = %v, want %v", got, want)
		}
	})
	t.Run("uri wins", func(t *testing.T) {
		uri := strings.Replace(dbtest.SQLiteURI(t), "?", "?_busy_timeout=1234&", 1)
		got := pragmas(t, dbtest.Open(t, "sqlite3-fk-wal-fullsync", uri))
		if got["busy_timeout"] != "1234" || got["synchronous"] != "2" {
			t.Errorf("pragmas = %v, want busy_timeout 1234 and synchronous FULL (2)", got)
		}
	})
}

// Many goroutines, and a second connection pool standing in for a
// whatsmeow store on the same file that holds the write lock for a while,
// write concurrently. With WAL, _txlock=immediate and a busy timeout none
// of them may fail with "database is locked" (or anything else).
func TestSQLiteConcurrentWriters(t *testing.T) {
	uri := dbtest.SQLiteURI(t)
	db := dbtest.Open(t, "", uri)
	other := dbtest.Open(t, "", uri)
	_, err := other.Exec(ctx, "CREATE TABLE whatsmeow_standin (k INTEGER PRIMARY KEY, v TEXT)")
	must(t, err)

	const workers, rounds = 6, 25
	errs := make(chan error, workers*rounds*8)
	var wg sync.WaitGroup
	for w := range workers {
		key := network.PortalKey{Network: "irc", Chat: network.ChatID(fmt.Sprintf("#c%d", w))}
		putPortal(t, db, key, "")
		wg.Go(func() {
			for r := range rounds {
				evt := fmt.Sprintf("$w%d-r%d", w, r)
				// Two workers enqueue each event, so dedup races too.
				batch := []*database.QueuedEvent{qe(evt), qe(fmt.Sprintf("$w%d-r%d", (w+1)%workers, r))}
				if _, err := db.MatrixEvents.Enqueue(ctx, batch); err != nil {
					errs <- err
				}
				if err := db.MatrixEvents.MarkHandled(ctx, batch[0].EventID); err != nil {
					errs <- err
				}
				m := &database.Message{Portal: key, ID: network.MessageID(evt), EventID: batch[0].EventID + "-m", RoomID: "!r:example.org", Timestamp: time.Now()}
				if err := db.Messages.Put(ctx, m); err != nil {
					errs <- err
				}
				if err := db.Messages.BumpEditCount(ctx, key, m.ID, ""); err != nil {
					errs <- err
				}
				if err := db.KV.Set(ctx, fmt.Sprintf("k%d", w), evt); err != nil {
					errs <- err
				}
				if _, err := db.MatrixEvents.Pending(ctx); err != nil {
					errs <- err
				}
			}
		})
	}
	// The other pool writes in transactions that hold the lock for 20ms.
	wg.Go(func() {
		for r := range 20 {
			err := other.DoTxn(ctx, nil, func(ctx context.Context) error {
				if _, err := other.Exec(ctx, "INSERT INTO whatsmeow_standin (v) VALUES ($1)", fmt.Sprint(r)); err != nil {
					return err
				}
				time.Sleep(20 * time.Millisecond)
				return nil
			})
			if err != nil {
				errs <- err
			}
		}
	})
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	n, err := db.MatrixEvents.PruneHandled(ctx, time.Now().Add(time.Minute))
	must(t, err)
	if n != workers*rounds {
		t.Errorf("handled %d events, want %d", n, workers*rounds)
	}
}

// On SQLite a statement runs to its end even when the caller's context is
// cancelled (see sqliteExecable); on PostgreSQL cancellation stops it.
func TestStatementsAndCancellation(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *database.Database) {
		cancelled, cancel := context.WithCancel(context.Background())
		cancel()
		_, err := db.MatrixEvents.Enqueue(cancelled, []*database.QueuedEvent{qe("$cancelled")})
		stored, _ := db.MatrixEvents.Pending(context.Background())
		switch db.Dialect {
		case dbutil.SQLite:
			if err != nil || len(stored) != 1 {
				t.Errorf("SQLite: Enqueue with a cancelled context = %v, stored %d events, want it stored", err, len(stored))
			}
		case dbutil.Postgres:
			if !errors.Is(err, context.Canceled) || len(stored) != 0 {
				t.Errorf("PostgreSQL: Enqueue with a cancelled context = %v, stored %d events, want context.Canceled and nothing", err, len(stored))
			}
		}
	})
}

// On SQLite the statements every bridged message runs are prepared on
// first use and then reused, when they come down dbutil's usual path (which
// rewrites their placeholders first).
func TestPerMessageStatementsArePrepared(t *testing.T) {
	db := dbtest.Open(t, database.DefaultType, dbtest.SQLiteURI(t))
	for _, q := range database.PerMessageStatements {
		if database.PreparedStatement(db, q) != nil {
			t.Fatalf("prepared before first use: %s", q)
		}
		// No arguments: database/sql refuses the call after preparing
		// it, which is all this test needs.
		_ = db.QueryRow(ctx, q).Scan()
		first := database.PreparedStatement(db, q)
		if first == nil {
			t.Errorf("not prepared after use: %s", q)
			continue
		}
		_, _ = db.Exec(ctx, q)
		if again := database.PreparedStatement(db, q); again != first {
			t.Errorf("prepared again on second use: %s", q)
		}
	}
}

// An in-memory SQLite database exists per connection: the pool bounds a
// configuration gives (bridge.New passes them on) must not give it a
// second connection, which would open an empty database without tables.
func TestInMemoryDatabaseKeepsOneConnection(t *testing.T) {
	db, err := database.Open("", "file::memory:", zerolog.Nop())
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if err = db.Upgrade(ctx); err != nil {
		t.Fatal(err)
	}
	db.SetPool(5, 2)
	held, err := db.RawDB.Conn(ctx) // as a query that is running holds one
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() {
		_, err := db.Portals.Get(ctx, network.PortalKey{Network: "irc", Chat: "x"})
		done <- err
	}()
	time.Sleep(50 * time.Millisecond) // the query waits for the one connection
	held.Close()
	if err := <-done; err != nil {
		t.Fatalf("a query while another held the connection: %v", err)
	}
}
