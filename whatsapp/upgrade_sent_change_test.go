package whatsapp

import (
	"context"
	"testing"

	"github.com/ferrybridge/ferry/database"
	"github.com/ferrybridge/ferry/internal/dbtest"
)

// TestUpgradeKeepsTheSentEdits: upgrade v9 makes the table of edits sent
// from Matrix the table of all changes sent from Matrix. An edit recorded
// before the upgrade is still known after it, so that its echo, still on
// its way to another login, is not shown a second time; after upgrade
// v11 its row no longer names the login (its phone number).
func TestUpgradeKeepsTheSentEdits(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *database.Database) {
		ctx := context.Background()
		ownDBAt(t, db, 8)
		if _, err := db.Exec(ctx, `INSERT INTO whatsapp_sent_edit (chat_id, message_id, login_id, sent_at)
			VALUES ('120363000000000001@g.us', '3EB0EDIT', '4915100000001', 1)`); err != nil {
			t.Fatal(err)
		}
		store := &msgStore{db: ownDBAt(t, db, len(upgradeTable))}
		if sent, err := store.sentChange(ctx, "120363000000000001@g.us", "3EB0EDIT"); err != nil || !sent {
			t.Errorf("the edit sent before the upgrade: sent %v, err %v", sent, err)
		}
		checkNoRowNames(t, store.db, "whatsapp_sent_change", "4915100000001")
		if err := store.putSentChange(ctx, "120363000000000001@g.us", "3EB0REACT"); err != nil {
			t.Fatal(err)
		}
		if sent, err := store.sentChange(ctx, "120363000000000001@g.us", "3EB0REACT"); err != nil || !sent {
			t.Errorf("a reaction sent after the upgrade: sent %v, err %v", sent, err)
		}
	})
}
