package database_test

import (
	"testing"

	"github.com/ferrybridge/ferry/database"
	"github.com/ferrybridge/ferry/internal/dbtest"
)

func TestKV(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *database.Database) {
		check := func(key, wantVal string, wantOK bool) {
			t.Helper()
			val, ok, err := db.KV.Get(ctx, key)
			must(t, err)
			if val != wantVal || ok != wantOK {
				t.Errorf("Get(%q) = %q, %v; want %q, %v", key, val, ok, wantVal, wantOK)
			}
		}
		check("bot.profile_set", "", false)
		must(t, db.KV.Set(ctx, "bot.profile_set", "true"))
		check("bot.profile_set", "true", true)
		must(t, db.KV.Set(ctx, "bot.profile_set", "")) // empty is a value, not absence
		check("bot.profile_set", "", true)
		must(t, db.KV.Set(ctx, "other", "x"))
		must(t, db.KV.Delete(ctx, "bot.profile_set"))
		must(t, db.KV.Delete(ctx, "bot.profile_set")) // missing: no error
		check("bot.profile_set", "", false)
		check("other", "x", true)
	})
}
