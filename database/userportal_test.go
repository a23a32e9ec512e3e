package database_test

import (
	"reflect"
	"testing"

	"github.com/ferrybridge/ferry/database"
	"github.com/ferrybridge/ferry/internal/dbtest"
)

func TestUserPortals(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *database.Database) {
		putLogin(t, db, "irc", "alice@libera", "@alice:example.org")
		putLogin(t, db, "irc", "alice@oftc", "@alice:example.org")
		putLogin(t, db, "irc", "bob@libera", "@bob:example.org")
		putPortal(t, db, ircPortal, "!irc:example.org")

		got, err := db.UserPortals.Get(ctx, "@alice:example.org", ircPortal)
		must(t, err)
		if got != nil {
			t.Fatalf("Get of a missing user portal = %+v", got)
		}

		alice := &database.UserPortal{UserMXID: "@alice:example.org", Portal: ircPortal, Login: "alice@libera"}
		bob := &database.UserPortal{UserMXID: "@bob:example.org", Portal: ircPortal, Login: "bob@libera"}
		must(t, db.UserPortals.Put(ctx, alice))
		must(t, db.UserPortals.Put(ctx, bob))
		got, err = db.UserPortals.Get(ctx, "@alice:example.org", ircPortal)
		must(t, err)
		if !reflect.DeepEqual(got, alice) {
			t.Fatalf("Get = %+v, want %+v", got, alice)
		}

		// Upsert switches the login.
		alice.Login = "alice@oftc"
		must(t, db.UserPortals.Put(ctx, alice))
		got, err = db.UserPortals.Get(ctx, "@alice:example.org", ircPortal)
		must(t, err)
		if got.Login != "alice@oftc" {
			t.Errorf("after upsert Login = %q", got.Login)
		}

		// The login and the portal must exist.
		if err := db.UserPortals.Put(ctx, &database.UserPortal{UserMXID: "@carol:example.org", Portal: ircPortal, Login: "carol@libera"}); err == nil {
			t.Error("Put with a missing login succeeded")
		}
		if err := db.UserPortals.Put(ctx, &database.UserPortal{UserMXID: "@bob:example.org", Portal: waPortal, Login: "bob@libera"}); err == nil {
			t.Error("Put with a missing portal succeeded")
		}

		byPortal, err := db.UserPortals.ByPortal(ctx, ircPortal)
		must(t, err)
		if !reflect.DeepEqual(byPortal, []*database.UserPortal{alice, bob}) {
			t.Errorf("ByPortal = %+v", byPortal)
		}
		byUser, err := db.UserPortals.ByUser(ctx, "@alice:example.org")
		must(t, err)
		if !reflect.DeepEqual(byUser, []*database.UserPortal{alice}) {
			t.Errorf("ByUser = %+v", byUser)
		}
		byUser, err = db.UserPortals.ByUser(ctx, "@nobody:example.org")
		must(t, err)
		if len(byUser) != 0 {
			t.Errorf("ByUser of a stranger = %#v, want none", byUser)
		}

		must(t, db.UserPortals.Delete(ctx, "@alice:example.org", ircPortal))
		must(t, db.UserPortals.Delete(ctx, "@alice:example.org", ircPortal)) // missing: no error
		if got, _ := db.UserPortals.Get(ctx, "@alice:example.org", ircPortal); got != nil {
			t.Errorf("Get after Delete = %+v", got)
		}

		// Deleting a login removes its rows.
		must(t, db.Logins.Delete(ctx, "irc", "bob@libera"))
		if got, _ := db.UserPortals.Get(ctx, "@bob:example.org", ircPortal); got != nil {
			t.Errorf("user portal survived its login: %+v", got)
		}
	})
}
