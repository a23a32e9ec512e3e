package whatsapp

import (
	"context"
	"strings"
	"testing"

	"go.mau.fi/util/dbutil"

	"github.com/ferrybridge/ferry/database"
	"github.com/ferrybridge/ferry/internal/dbtest"
)

// TestSentChangePruneReadsOnlyOldRows: the rows of changes sent from
// Matrix past sentChangeKeep are pruned at Ferry's start and every
// sentChangePruneEvery. That delete must find the old rows by their age
// (the index of upgrades v10 and v11), not read every row kept.
func TestSentChangePruneReadsOnlyOldRows(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *database.Database) {
		ctx := context.Background()
		ownDB := ownDBAt(t, db, len(upgradeTable))
		const prune = `DELETE FROM whatsapp_sent_change WHERE sent_at < $1`
		var plan []string
		err := ownDB.DoTxn(ctx, nil, func(ctx context.Context) error {
			explain := "EXPLAIN QUERY PLAN " + prune
			if ownDB.Dialect == dbutil.Postgres {
				// An empty table is read whole whatever its indexes; forbid
				// that so the plan shows whether an index could serve.
				if _, err := ownDB.Exec(ctx, "SET LOCAL enable_seqscan = off"); err != nil {
					return err
				}
				explain = "EXPLAIN " + prune
			}
			var err error
			plan, err = queryValues(ctx, ownDB, explain, int64(1))
			return err
		})
		if err != nil {
			t.Fatalf("explain the prune: %v", err)
		}
		if joined := strings.Join(plan, " | "); !strings.Contains(joined, "whatsapp_sent_change_sent_at") {
			t.Errorf("the prune reads the table without its age index: %s", joined)
		}
	})
}
