package bridge_test

import (
	"context"
	"database/sql"
	"path/filepath"
	"testing"

	"github.com/rs/zerolog"

	"github.com/ferrybridge/ferry/bridge/config"
	"github.com/ferrybridge/ferry/database"
)

// TestDefaultPoolKeepsConnectionsWhileBusy: with the default pool
// settings, connections a busy moment needs stay open for the next one.
// A pool that closes every connection beyond one as soon as it is free
// opens them again at once under load (for SQLite: the file, its WAL
// index and every prepared statement), which showed as a quarter of
// Ferry's processor time in the Matrix -> IRC benchmark.
func TestDefaultPoolKeepsConnectionsWhileBusy(t *testing.T) {
	cfg := config.Default().Database
	db, err := database.Open(cfg.Type, "file:"+filepath.Join(t.TempDir(), "pool.db")+"?_txlock=immediate", zerolog.Nop())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = db.Close() })
	db.SetPool(cfg.MaxOpenConns, cfg.MaxIdleConns)
	ctx := context.Background()
	for round := 0; round < 3; round++ {
		conns := make([]*sql.Conn, cfg.MaxOpenConns)
		for i := range conns {
			if conns[i], err = db.RawDB.Conn(ctx); err != nil {
				t.Fatal(err)
			}
			if _, err = conns[i].ExecContext(ctx, "SELECT 1"); err != nil {
				t.Fatal(err)
			}
		}
		for _, c := range conns {
			_ = c.Close()
		}
	}
	if st := db.RawDB.Stats(); st.MaxIdleClosed != 0 || st.OpenConnections != cfg.MaxOpenConns {
		t.Errorf("after three busy moments of %d connections: %d open, %d closed as surplus idle; want all %d kept",
			cfg.MaxOpenConns, st.OpenConnections, st.MaxIdleClosed, cfg.MaxOpenConns)
	}
}
