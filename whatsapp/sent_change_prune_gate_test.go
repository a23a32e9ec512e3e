package whatsapp

import (
	"context"
	"testing"
	"time"

	"github.com/ferrybridge/ferry/database"
	"github.com/ferrybridge/ferry/internal/dbtest"
)

// TestSentChangesPrunedAtStartAndWhileRunning: the IDs of changes sent
// from Matrix are kept for sentChangeKeep. Rows past it go when Ferry
// starts and then every sentChangePruneEvery while it runs, whether or
// not anybody sends a change again (after the last user's logout nobody
// does); a change sent costs one write, not a prune too.
func TestSentChangesPrunedAtStartAndWhileRunning(t *testing.T) {
	every := sentChangePruneEvery
	sentChangePruneEvery = 50 * time.Millisecond
	t.Cleanup(func() { sentChangePruneEvery = every })
	dbtest.Each(t, func(t *testing.T, db *database.Database) {
		ctx := context.Background()
		store := &msgStore{db: ownDBAt(t, db, len(upgradeTable))}
		const chat = "120363000000000001@g.us"
		old := time.Now().Add(-sentChangeKeep - time.Hour).UnixMilli()
		addOld := func(id string) {
			t.Helper()
			if _, err := store.db.Exec(ctx, `INSERT INTO whatsapp_sent_change (chat_id, message_id, sent_at) VALUES ($1, $2, $3)`, chat, id, old); err != nil {
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
		waitPruned := func(id, when string) {
			t.Helper()
			for deadline := time.Now().Add(30 * time.Second); kept(id); time.Sleep(20 * time.Millisecond) {
				if time.Now().After(deadline) {
					t.Fatalf("the row past its keep was not pruned %s", when)
				}
			}
		}
		addOld("OLD1")
		if err := store.putSentChange(ctx, chat, "NEW1"); err != nil {
			t.Fatal(err)
		}
		if !kept("OLD1") {
			t.Error("sending a change pruned; that is the timer's work")
		}
		startConnector(t, db.Database, "")
		waitPruned("OLD1", "at the start")
		addOld("OLD2")
		waitPruned("OLD2", "while running")
		if !kept("NEW1") {
			t.Error("a change within its keep was pruned")
		}
	})
}
