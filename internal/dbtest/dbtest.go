// Package dbtest runs database tests on every dialect Ferry supports.
package dbtest

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/rs/zerolog"

	"github.com/ferrybridge/ferry/database"
	"github.com/ferrybridge/ferry/internal/pgtest"
)

// Each runs fn as the subtests "sqlite" and "postgres", each with a fresh,
// upgraded database that is closed when the subtest ends. PostgreSQL comes
// from pgtest, so the test binary's TestMain should call pgtest.Main.
func Each(t *testing.T, fn func(t *testing.T, db *database.Database)) {
	t.Helper()
	t.Run("sqlite", func(t *testing.T) {
		fn(t, Open(t, database.DefaultType, SQLiteURI(t)))
	})
	t.Run("postgres", func(t *testing.T) {
		fn(t, Open(t, "postgres", pgtest.URI(t)))
	})
}

// SQLiteURI returns the URI of a new SQLite file in the test's temporary
// directory, in the form Ferry's configuration uses.
func SQLiteURI(t testing.TB) string {
	return "file:" + filepath.Join(t.TempDir(), "ferry.db") + "?_txlock=immediate"
}

// Open opens and upgrades a database, failing the test on error, and closes
// it when the test ends. Queries log warnings and errors to the test log.
func Open(t testing.TB, dbType, uri string) *database.Database {
	t.Helper()
	log := zerolog.New(zerolog.NewTestWriter(t)).Level(zerolog.WarnLevel)
	db, err := database.Open(dbType, uri, log)
	if err != nil {
		t.Fatalf("open %s database: %v", dbType, err)
	}
	t.Cleanup(func() {
		if err := db.Close(); err != nil {
			t.Errorf("close %s database: %v", dbType, err)
		}
	})
	if err := db.Upgrade(context.Background()); err != nil {
		t.Fatalf("upgrade %s database: %v", dbType, err)
	}
	return db
}
