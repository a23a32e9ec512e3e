package whatsapp

import (
	"context"
	"testing"

	"github.com/rs/zerolog"
	"go.mau.fi/util/dbutil"

	"github.com/ferrybridge/ferry/database"
)

// ownDBAt is db's child holding the network's own tables, upgraded
// through the first n of upgradeTable's versions.
func ownDBAt(t *testing.T, db *database.Database, n int) *dbutil.Database {
	t.Helper()
	log := dbutil.ZeroLogger(zerolog.New(zerolog.NewTestWriter(t)).Level(zerolog.WarnLevel))
	own := db.Child(versionTable, upgradeTable[:n], log)
	if err := own.Upgrade(context.Background()); err != nil {
		t.Fatalf("upgrade the network's tables to v%d: %v", n, err)
	}
	return own
}
