package database_test

import (
	"testing"

	"github.com/rs/zerolog"

	"github.com/ferrybridge/ferry/bridge/network"
	"github.com/ferrybridge/ferry/database"
	"github.com/ferrybridge/ferry/database/upgrades"
	"github.com/ferrybridge/ferry/internal/dbtest"
	"github.com/ferrybridge/ferry/internal/pgtest"
)

// TestUpgradeGivesReactionsTheirSender: the reactions stored before
// their Matrix sender was noted are taken, at the upgrade, for the user
// of the login whose remote account they are under (it may have sent
// them from Matrix, and only its own account's removal takes those
// back); others stay the ghost's.
func TestUpgradeGivesReactionsTheirSender(t *testing.T) {
	for dialect, uri := range map[string]func(t *testing.T) string{
		database.DefaultType: func(t *testing.T) string { return dbtest.SQLiteURI(t) },
		"postgres":           func(t *testing.T) string { return pgtest.URI(t) },
	} {
		t.Run(dialect, func(t *testing.T) {
			db, err := database.Open(dialect, uri(t), zerolog.New(zerolog.NewTestWriter(t)).Level(zerolog.WarnLevel))
			must(t, err)
			t.Cleanup(func() { db.Close() })
			db.UpgradeTable = upgrades.Table[:4] // before the sender was noted
			must(t, db.Upgrade(ctx))
			must(t, db.Logins.Put(ctx, &database.Login{Network: "irc", ID: "test/@alice:example.org", UserMXID: "@alice:example.org", RemoteUser: "test/alice", CreatedAt: ms(1000)}))
			putPortal(t, db, ircPortal, "!irc:example.org")
			putMessage(t, db, ircPortal, "m1", "", "$m1", 1000)
			for sender, evt := range map[network.UserID]string{"test/alice": "$alice", "test/bob": "$bob"} {
				_, err = db.Exec(ctx, `INSERT INTO reaction (network, chat_id, receiver, target_id, target_part, sender, emoji_id, emoji, event_id, room_id, timestamp)
					VALUES ($1, $2, '', 'm1', '', $3, '👍', '👍', $4, '!irc:example.org', 2000)`, ircPortal.Network, ircPortal.Chat, sender, evt)
				must(t, err)
			}

			db.UpgradeTable = upgrades.Table
			must(t, db.Upgrade(ctx))
			for sender, want := range map[network.UserID]string{"test/alice": "@alice:example.org", "test/bob": ""} {
				r, err := db.Reactions.Get(ctx, ircPortal, "m1", sender, "👍")
				must(t, err)
				if r == nil || string(r.SenderMXID) != want {
					t.Errorf("%s's reaction after the upgrade: %+v, want SenderMXID %q", sender, r, want)
				}
			}
		})
	}
}
