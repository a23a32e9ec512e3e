package portals

import (
	"context"
	"sync"
	"testing"

	"github.com/rs/zerolog"
	"maunium.net/go/mautrix/event"
	"maunium.net/go/mautrix/id"

	"github.com/ferrybridge/ferry/bridge/network"
	"github.com/ferrybridge/ferry/database"
	"github.com/ferrybridge/ferry/internal/dbtest"
	"github.com/ferrybridge/ferry/internal/hammer"
	"github.com/ferrybridge/ferry/internal/pgtest"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

// loginDir is the bridge's login directory as the membership cache sees
// it: the logins it currently has, by ID.
type loginDir struct {
	mu     sync.Mutex
	logins map[network.LoginID]*network.Login
}

func (d *loginDir) set(login *network.Login) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.logins[login.ID] = login
}

func (d *loginDir) remove(loginID network.LoginID) {
	d.mu.Lock()
	defer d.mu.Unlock()
	delete(d.logins, loginID)
}

func (d *loginDir) Login(_ network.NetworkID, loginID network.LoginID) *network.Login {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.logins[loginID]
}

func (d *loginDir) Client(network.NetworkID, network.LoginID) (network.Client, bool) {
	return nil, false
}
func (d *loginDir) Level(id.UserID) network.Level                            { return network.LevelUser }
func (d *loginDir) NetworkName(network.NetworkID) string                     { return "Testnet" }
func (d *loginDir) UserLogins(id.UserID, network.NetworkID) []*network.Login { return nil }
func (d *loginDir) AliasLocalpart(network.PortalKey) string                  { return "" }

// setForTest sets *v, a package setting, to val until the test ends.
func setForTest[T any](t *testing.T, v *T, val T) {
	old := *v
	*v = val
	t.Cleanup(func() { *v = old })
}

// memberScene is a shared portal with alice's login stored, on db.
func memberScene(t *testing.T, db *database.Database) (context.Context, *Portal, *loginDir, *network.Login) {
	t.Helper()
	ctx := context.Background()
	const alice = id.UserID("@alice:example.org")
	key := network.PortalKey{Network: "test", Chat: "#ferry"}
	if err := db.Logins.Put(ctx, &database.Login{Network: "test", ID: "alice", UserMXID: alice}); err != nil {
		t.Fatal(err)
	}
	if err := db.Portals.Put(ctx, &database.Portal{Key: key, RoomID: "!ferry:example.org"}); err != nil {
		t.Fatal(err)
	}
	login := &network.Login{ID: "alice", User: alice}
	dir := &loginDir{logins: map[network.LoginID]*network.Login{"alice": login}}
	m := NewManager(db, nil, nil, dir, zerolog.Nop())
	t.Cleanup(m.cancel)
	p, err := m.Get(ctx, key)
	if err != nil {
		t.Fatal(err)
	}
	return ctx, p, dir, login
}

// memberIs checks what memberLogin says of alice.
func memberIs(t *testing.T, ctx context.Context, p *Portal, want *network.Login, when string) {
	t.Helper()
	got, err := p.memberLogin(ctx, "@alice:example.org")
	if err != nil {
		t.Fatalf("%s: %v", when, err)
	}
	if got != want {
		t.Errorf("%s: alice takes part through %+v; want %+v", when, got, want)
	}
}

func TestMembershipFollowsItsWrites(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *database.Database) {
		ctx, p, _, login := memberScene(t, db)
		memberIs(t, ctx, p, nil, "before she joined")
		if err := p.putMember(ctx, login.User, login.ID); err != nil {
			t.Fatal(err)
		}
		memberIs(t, ctx, p, login, "after she joined")
		memberIs(t, ctx, p, login, "asked again")
		if err := p.unlinkMember(ctx, login.User); err != nil {
			t.Fatal(err)
		}
		memberIs(t, ctx, p, nil, "after she left")
	})
}

// The foreign keys delete a login's rows with the login, behind the
// portal's back: a removed login, or one made again under the same ID,
// must not keep speaking for the user from the cache.
func TestMembershipEndsWithItsLogin(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *database.Database) {
		ctx, p, dir, login := memberScene(t, db)
		if err := p.putMember(ctx, login.User, login.ID); err != nil {
			t.Fatal(err)
		}
		memberIs(t, ctx, p, login, "after she joined")

		dir.remove(login.ID)
		if err := db.Logins.Delete(ctx, "test", login.ID); err != nil {
			t.Fatal(err)
		}
		memberIs(t, ctx, p, nil, "after her login was removed")

		// Logged in again: a new login under the same ID, whose
		// membership the network has not stored again yet.
		if err := db.Logins.Put(ctx, &database.Login{Network: "test", ID: login.ID, UserMXID: login.User}); err != nil {
			t.Fatal(err)
		}
		again := &network.Login{ID: login.ID, User: login.User}
		dir.set(again)
		memberIs(t, ctx, p, nil, "logged in again, before the network linked her")
		if err := p.putMember(ctx, login.User, login.ID); err != nil {
			t.Fatal(err)
		}
		memberIs(t, ctx, p, again, "linked again")
	})
}

// A lookup running while the membership is removed must not leave the
// removed login behind in the cache.
func TestMembershipLookupRacingAnUnlink(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *database.Database) {
		ctx, p, _, login := memberScene(t, db)
		for range 50 {
			if err := p.putMember(ctx, login.User, login.ID); err != nil {
				t.Fatal(err)
			}
			var failed sync.Once
			stop := hammer.Start(2, func() {
				if _, err := p.memberLogin(ctx, login.User); err != nil {
					failed.Do(func() { t.Error(err) })
				}
			})
			if err := p.unlinkMember(ctx, login.User); err != nil {
				t.Fatal(err)
			}
			memberIs(t, ctx, p, nil, "right after she left")
			stop()
			memberIs(t, ctx, p, nil, "after the lookups ended")
		}
	})
}

// A remote event checks that its login's user is in the room before it is
// bridged; for a member the portal already knows, that check must not
// wait for the database.
func TestRemoteEventFindsItsMemberWithoutReadingTheDatabase(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *database.Database) {
		ctx, p, _, login := memberScene(t, db)
		if err := p.putMember(ctx, login.User, login.ID); err != nil {
			t.Fatal(err)
		}
		memberIs(t, ctx, p, login, "linked") // the first message's read
		// With the membership table out of reach, only what the portal
		// remembers can answer.
		if _, err := db.Exec(ctx, "ALTER TABLE user_portal RENAME TO user_portal_away"); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() {
			if _, err := db.Exec(ctx, "ALTER TABLE user_portal_away RENAME TO user_portal"); err != nil {
				t.Error(err)
			}
		})
		if err := p.ensureUserIn(ctx, login); err != nil {
			t.Errorf("alice's event was held up by the database: %v", err)
		}
		// Someone the portal does not know is still looked up.
		bob := &network.Login{ID: "bob", User: "@bob:example.org"}
		if err := p.ensureUserIn(ctx, bob); err == nil {
			t.Error("bob, whom the portal does not know, was let in without a database read")
		}
	})
}

func (d *loginDir) NotifyUser(context.Context, id.UserID, *event.MessageEventContent) error {
	return nil
}
