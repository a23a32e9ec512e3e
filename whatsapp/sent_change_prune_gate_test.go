package whatsapp

import (
	"context"
	"testing"
	"time"

	"github.com/ferrybridge/ferry/database"
	"github.com/ferrybridge/ferry/internal/dbtest"
)

// TestSentChangePruneRunsHourly: the first change sent prunes the rows
// past sentChangeKeep; the next ones within sentChangePruneEvery do not
// prune again, so that a change costs one write, not two.
func TestSentChangePruneRunsHourly(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *database.Database) {
		ctx := context.Background()
		store := &msgStore{db: ownDBAt(t, db, len(upgradeTable))}
		const chat = "120363000000000001@g.us"
		old := time.Now().Add(-sentChangeKeep - time.Hour).UnixMilli()
		addOld := func(id string) {
			t.Helper()
			if _, err := store.db.Exec(ctx, `INSERT INTO whatsapp_sent_change (chat_id, message_id, login_id, sent_at)
				VALUES ($1, $2, 'me', $3)`, chat, id, old); err != nil {
				t.Fatal(err)
			}
		}
		kept := func(id string) bool {
			t.Helper()
			sent, err := store.sentChange(ctx, chat, id)
			if err != nil {
				t.Fatal(err)
			}
			return sent
		}
		addOld("OLD1")
		if err := store.putSentChange(ctx, "me", chat, "NEW1"); err != nil {
			t.Fatal(err)
		}
		if kept("OLD1") || !kept("NEW1") {
			t.Errorf("after the first change: old row kept %v, new row kept %v; want the old one pruned", kept("OLD1"), kept("NEW1"))
		}
		addOld("OLD2")
		if err := store.putSentChange(ctx, "me", chat, "NEW2"); err != nil {
			t.Fatal(err)
		}
		if !kept("OLD2") {
			t.Error("the second change within the hour pruned again")
		}
	})
}
