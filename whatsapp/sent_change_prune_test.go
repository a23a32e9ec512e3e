package whatsapp

import (
	"context"
	"strings"
	"testing"

	"go.mau.fi/util/dbutil"

	"github.com/ferrybridge/ferry/database"
	"github.com/ferrybridge/ferry/internal/dbtest"
)

// TestSentChangePruneReadsOnlyOldRows: every change sent from Matrix
// first prunes the rows past sentChangeKeep. That delete must find the old
// rows by their age (upgrade v10's index), not read every row kept.
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
			rows, err := ownDB.Query(ctx, explain, int64(1))
			if err != nil {
				return err
			}
			defer rows.Close()
			cols, err := rows.Columns()
			if err != nil {
				return err
			}
			for rows.Next() {
				vals := make([]any, len(cols))
				ptrs := make([]any, len(cols))
				for i := range vals {
					ptrs[i] = &vals[i]
				}
				if err := rows.Scan(ptrs...); err != nil {
					return err
				}
				for _, v := range vals {
					switch v := v.(type) {
					case string:
						plan = append(plan, v)
					case []byte:
						plan = append(plan, string(v))
					}
				}
			}
			return rows.Err()
		})
		if err != nil {
			t.Fatalf("explain the prune: %v", err)
		}
		if joined := strings.Join(plan, " | "); !strings.Contains(joined, "whatsapp_sent_change_sent_at") {
			t.Errorf("the prune reads the table without its age index: %s", joined)
		}
	})
}
