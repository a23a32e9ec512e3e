package portals

import (
	"context"
	"strings"
	"testing"
	"time"

	"maunium.net/go/mautrix/id"

	"github.com/ferrybridge/ferry/bridge/network"
	"github.com/ferrybridge/ferry/database"
	"github.com/ferrybridge/ferry/internal/dbtest"
)

// readStuckScene is a portal with a room, on an SQLite store, against a
// stand-in homeserver that posts every event; breakReads makes every
// read of its queued events fail (their table gone), and mendReads
// undoes it.
func readStuckScene(t *testing.T) (ctx context.Context, p *Portal, hs *refusingHomeserver, breakReads, mendReads func()) {
	t.Helper()
	hs = &refusingHomeserver{}
	ctx = context.Background()
	db := dbtest.Open(t, database.DefaultType, dbtest.SQLiteURI(t))
	p = stubRoomPortal(t, db, hs.send)
	t.Cleanup(p.drainReadOK) // the retry's timer
	rename := func(from, to string) func() {
		return func() {
			t.Helper()
			if _, err := db.Exec(ctx, `ALTER TABLE `+from+` RENAME TO `+to); err != nil {
				t.Fatal(err)
			}
		}
	}
	return ctx, p, hs, rename("remote_event", "remote_event_away"), rename("remote_event_away", "remote_event")
}

// storeTroubleNotices counts the notices hs posted that the store could
// not be read.
func storeTroubleNotices(hs *refusingHomeserver) int {
	hs.mu.Lock()
	defer hs.mu.Unlock()
	n := 0
	for _, body := range hs.posted {
		if strings.Contains(body, "cannot read its database") {
			n++
		}
	}
	return n
}

// A store whose queued events cannot be read for good (a dropped table,
// a broken file) leaves the portal's backlog where it stands: the drain
// tries again at its back-off, for as long as Ferry runs. The room must
// hear of it, once, as it does of a store that cannot be written
// (TestRoomHearsOnceWhenKeptEventsCannotBeMovedForAWhile), not only the
// log.
func TestRoomHearsOnceWhenItsQueuedEventsCannotBeReadForAWhile(t *testing.T) {
	ctx, p, hs, breakReads, _ := readStuckScene(t)
	setForTest(t, &ResumeAfterOutage, 200*time.Millisecond)
	breakReads()

	p.drainBacklog(ctx) // the first failed read
	if n := storeTroubleNotices(hs); n != 0 {
		t.Fatalf("the room heard %d times that the store cannot be read at the first failed read; want none yet (it may heal)", n)
	}
	time.Sleep(ResumeAfterOutage)
	p.drainBacklog(ctx) // the back-off's next try, a while later
	p.drainBacklog(ctx) // and more
	time.Sleep(ResumeAfterOutage)
	p.drainBacklog(ctx)
	if n := storeTroubleNotices(hs); n != 1 {
		t.Errorf("the room heard %d times that the store cannot be read after reads failed for a while; want once (posted: %q)", n, hs.posted)
	}
	if p.durable.drainTimer == nil {
		t.Errorf("the drain is no longer tried again after the reads failed")
	}
}

// A read that fails once and then works is a passing trouble (a database
// restarting): the room hears nothing of it, nor of a failure after that
// which starts again from nothing.
func TestRoomHearsNothingOfAReadThatFailsOnceAndThenWorks(t *testing.T) {
	ctx, p, hs, breakReads, mendReads := readStuckScene(t)
	setForTest(t, &ResumeAfterOutage, 200*time.Millisecond)

	breakReads()
	p.drainBacklog(ctx) // fails
	mendReads()
	time.Sleep(ResumeAfterOutage)
	p.drainBacklog(ctx) // works
	breakReads()
	p.drainBacklog(ctx) // fails again: a new trouble, just begun
	if n := storeTroubleNotices(hs); n != 0 {
		t.Errorf("the room heard %d times that the store cannot be read, of reads that failed once each and worked between; want never (posted: %q)", n, hs.posted)
	}
}

// A per-user chat that has no room yet (its stored events are what would
// create it) tells its owner in the management room instead.
func TestOwnerOfARoomlessChatHearsOnceWhenItsQueuedEventsCannotBeRead(t *testing.T) {
	db := dbtest.Open(t, database.DefaultType, dbtest.SQLiteURI(t))
	ctx, shared, dir, login := memberScene(t, db)
	nd := &noticeDir{loginDir: dir}
	shared.m.dir = nd
	p, err := shared.m.Get(ctx, network.PortalKey{Network: "test", Chat: "bob", Receiver: login.ID})
	if err != nil {
		t.Fatal(err)
	}
	failReadsForAWhile(t, db, p)
	got := nd.noticesOf(login.User)
	if len(got) != 1 || !strings.Contains(got[0], "cannot read its database") || !strings.Contains(got[0], "bob") {
		t.Errorf("alice's management room got %q; want one notice that the chat with bob is held up by the database", got)
	}
}

// failReadsForAWhile makes every read of p's queued events fail (their
// table gone), and has p's drain try them for longer than
// ResumeAfterOutage: long enough for the room, or its users, to be told.
func failReadsForAWhile(t *testing.T, db *database.Database, p *Portal) {
	t.Helper()
	ctx := context.Background()
	t.Cleanup(p.drainReadOK) // the retry's timer
	setForTest(t, &ResumeAfterOutage, 200*time.Millisecond)
	if _, err := db.Exec(ctx, `ALTER TABLE remote_event RENAME TO remote_event_away`); err != nil {
		t.Fatal(err)
	}
	p.drainBacklog(ctx)
	time.Sleep(ResumeAfterOutage)
	p.drainBacklog(ctx)
	p.drainBacklog(ctx)
}

// A shared chat that has no room yet has no owner to tell, and the
// logins its stored events came through are in the rows that cannot be
// read. The portal knows them all the same, from when it stored the
// events or found them stored at the start: their users hear of it
// once, in their management rooms, a login that is not running
// included.
func TestUsersOfARoomlessSharedChatHearOnceWhenItsQueuedEventsCannotBeRead(t *testing.T) {
	for _, tc := range []struct {
		name  string
		store func(t *testing.T, ctx context.Context, p *Portal, logins ...*network.Login)
	}{
		{name: "stored in this run", store: func(t *testing.T, ctx context.Context, p *Portal, logins ...*network.Login) {
			p.durable.backlog.Store(true) // stored, not handed over
			for _, login := range logins {
				if err := p.m.QueueDurable(ctx, login, textFrom(p, "carol", network.MessageID("from-"+login.ID))); err != nil {
					t.Fatal(err)
				}
			}
		}},
		{name: "stored before the start", store: func(t *testing.T, ctx context.Context, p *Portal, logins ...*network.Login) {
			for _, login := range logins {
				storeQueued(t, ctx, p.m.db, p, login.ID, textFrom(p, "carol", network.MessageID("from-"+login.ID)))
			}
			if _, err := p.m.HoldDurable(ctx); err != nil {
				t.Fatal(err)
			}
			p.durable.held.Store(false) // the replay, without waking the portal
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dbtest.Each(t, func(t *testing.T, db *database.Database) {
				ctx, p, dir, alice := roomlessScene(t, db)
				// bob's login is stored, but its network did not load it.
				bob := &network.Login{ID: "bob", User: id.UserID("@bob:example.org")}
				if err := db.Logins.Put(ctx, &database.Login{Network: p.Key.Network, ID: bob.ID, UserMXID: bob.User}); err != nil {
					t.Fatal(err)
				}
				tc.store(t, ctx, p, alice, bob, alice)

				failReadsForAWhile(t, db, p)
				for _, user := range []id.UserID{alice.User, bob.User} {
					got := dir.noticesOf(user)
					if len(got) != 1 || !strings.Contains(got[0], "cannot read its database") || !strings.Contains(got[0], "#new") {
						t.Errorf("%s's management room got %q; want one notice that the chat #new is held up by the database", user, got)
					}
				}
			})
		})
	}
}
