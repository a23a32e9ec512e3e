package portals

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"maunium.net/go/mautrix/id"

	"github.com/ferrybridge/ferry/bridge/network"
	"github.com/ferrybridge/ferry/database"
	"github.com/ferrybridge/ferry/internal/dbtest"
)

// readStuckScene is a portal with a room, on an SQLite store, against a
// stand-in homeserver that posts every event, with ResumeAfterOutage
// short; breakReads makes every read of its queued events fail (their
// table gone), and mendReads undoes it. The test drains on the portal's
// goroutine (onItsGoroutine).
func readStuckScene(t *testing.T) (p *Portal, hs *refusingHomeserver, breakReads, mendReads func()) {
	t.Helper()
	hs = &refusingHomeserver{}
	db := dbtest.Open(t, database.DefaultType, dbtest.SQLiteURI(t))
	p = stubRoomPortal(t, db, hs.send)
	setForTest(t, &ResumeAfterOutage, 200*time.Millisecond)
	stopDrainAtEnd(t, p)
	return p, hs, func() { renameTable(t, db, "remote_event", "remote_event_away") },
		func() { renameTable(t, db, "remote_event_away", "remote_event") }
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
	p, hs, breakReads, _ := readStuckScene(t)
	breakReads()

	onItsGoroutine(t, p, func(ctx context.Context) {
		p.drainBacklog(ctx) // the first failed read
		if n := storeTroubleNotices(hs); n != 0 {
			t.Errorf("the room heard %d times that the store cannot be read at the first failed read; want none yet (it may heal)", n)
		}
	})
	time.Sleep(ResumeAfterOutage)
	drainOnItsGoroutine(t, p) // the back-off's next try, a while later
	drainOnItsGoroutine(t, p) // and more
	time.Sleep(ResumeAfterOutage)
	onItsGoroutine(t, p, func(ctx context.Context) {
		p.drainBacklog(ctx)
		if p.durable.drainTimer == nil {
			t.Errorf("the drain is no longer tried again after the reads failed")
		}
	})
	if n := storeTroubleNotices(hs); n != 1 {
		t.Errorf("the room heard %d times that the store cannot be read after reads failed for a while; want once (posted: %q)", n, hs.posted)
	}
}

// A read that fails once and then works is a passing trouble (a database
// restarting): the room hears nothing of it, nor of a failure after that
// which starts again from nothing.
func TestRoomHearsNothingOfAReadThatFailsOnceAndThenWorks(t *testing.T) {
	p, hs, breakReads, mendReads := readStuckScene(t)

	// Each failure is mended before the retry's timer can try the read
	// again: on the portal's goroutine, which the timer wakes.
	onItsGoroutine(t, p, func(ctx context.Context) {
		breakReads()
		p.drainBacklog(ctx) // fails
		mendReads()
	})
	time.Sleep(ResumeAfterOutage)
	onItsGoroutine(t, p, func(ctx context.Context) {
		p.drainBacklog(ctx) // works
		breakReads()
		p.drainBacklog(ctx) // fails again: a new trouble, just begun
		if n := storeTroubleNotices(hs); n != 0 {
			t.Errorf("the room heard %d times that the store cannot be read, of reads that failed once each and worked between; want never (posted: %q)", n, hs.posted)
		}
	})
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

// The notice names a roomless chat as written: its name, the network's
// words, goes into the Markdown notice through network.Literal, so that
// a chat named *x* is neither shown with backslashes nor as emphasis.
func TestHeldUpNoticeNamesARoomlessChatAsWritten(t *testing.T) {
	db := dbtest.Open(t, database.DefaultType, dbtest.SQLiteURI(t))
	ctx, shared, dir, login := memberScene(t, db)
	nd := &noticeDir{loginDir: dir}
	shared.m.dir = nd
	key := network.PortalKey{Network: "test", Chat: "bob", Receiver: login.ID}
	if err := db.Portals.Put(ctx, &database.Portal{Key: key, Name: "*x*"}); err != nil {
		t.Fatal(err)
	}
	p, err := shared.m.Get(ctx, key)
	if err != nil {
		t.Fatal(err)
	}
	failReadsForAWhile(t, db, p)
	got := nd.noticeContentsOf(login.User)
	if len(got) != 1 {
		t.Fatalf("alice's management room got %d notices, want one that the chat is held up", len(got))
	}
	if want := "in the chat “*x*”, which has no Matrix room yet, are held up"; !strings.Contains(got[0].Body, want) {
		t.Errorf("the notice's body %q does not say %q", got[0].Body, want)
	}
	// Plain text once rendered, it has no formatted body, or one with
	// the name as written.
	if f, want := got[0].FormattedBody, "the chat “*x*”"; f != "" && (!strings.Contains(f, want) || strings.Contains(f, "<em>")) {
		t.Errorf("the notice's formatted body %q does not name the chat as written, %q", f, want)
	}
}

// failReadsForAWhile makes every read of p's queued events fail (their
// table gone), and has p's drain try them for longer than
// ResumeAfterOutage: long enough for the room, or its users, to be told.
func failReadsForAWhile(t *testing.T, db *database.Database, p *Portal) {
	t.Helper()
	setForTest(t, &ResumeAfterOutage, 200*time.Millisecond)
	stopDrainAtEnd(t, p)
	renameTable(t, db, "remote_event", "remote_event_away")
	drainOnItsGoroutine(t, p)
	time.Sleep(ResumeAfterOutage)
	drainOnItsGoroutine(t, p)
	drainOnItsGoroutine(t, p)
}

// drainOnItsGoroutine has p's goroutine drain p's backlog (and again, as
// it does after any work while backlogged).
func drainOnItsGoroutine(t *testing.T, p *Portal) {
	t.Helper()
	onItsGoroutine(t, p, p.drainBacklog)
}

// onItsGoroutine runs fn on p's goroutine, as the portal's work
// (Manager.Do), and waits for it. The drain's state is the goroutine's,
// and the retry timer of a failed read starts the goroutine a second
// later: sooner than a loaded machine may take between two drains,
// which, made by the test itself, would race with the goroutine's
// drains of a backlog.
func onItsGoroutine(t *testing.T, p *Portal, fn func(ctx context.Context)) {
	t.Helper()
	if err := p.m.Do(context.Background(), p, func(ctx context.Context) error {
		fn(ctx)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
}

// stopDrainAtEnd ends, when the test ends, p's goroutine and then the
// retry timer of its drain, before the settings the test changed before
// it are undone: the goroutine reads them.
func stopDrainAtEnd(t *testing.T, p *Portal) {
	t.Cleanup(func() {
		p.m.cancel()
		p.m.wg.Wait()
		p.drainReadOK()
	})
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
		{name: "stored in this run", store: queueStored},
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
				ctx, p, dir, alice, bob := roomlessSharedScene(t, db)
				tc.store(t, ctx, p, alice, bob, alice)

				failReadsForAWhile(t, db, p)
				for _, user := range []id.UserID{alice.User, bob.User} {
					got := dir.noticesOf(user)
					if len(got) != 1 || !strings.Contains(got[0], "cannot read its database") || !strings.Contains(got[0], "in the chat #new, which has no Matrix room yet, are held up") {
						t.Errorf("%s's management room got %q; want one notice that the messages in the chat #new are held up by the database", user, got)
					}
				}
			})
		})
	}
}

// A user of a roomless shared chat whose queued events were all bridged
// long ago (who may have left the chat since) has nothing held up by a
// later read of the store that fails: only the users whose events are
// queued then are told.
func TestUserOfARoomlessSharedChatWhoseQueuedEventsWereBridgedIsNotToldOfALaterFailedRead(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *database.Database) {
		ctx, p, dir, alice, bob := roomlessSharedScene(t, db)
		queueStored(t, ctx, p, alice)
		drainOnItsGoroutine(t, p) // handled: a message that may not create the room is ignored
		if rows, err := db.RemoteEvents.Pending(ctx); err != nil || len(rows) != 0 {
			t.Fatalf("stored after the drain: %d events (%v); the scene needs alice's handled", len(rows), err)
		}
		queueStored(t, ctx, p, bob)

		failReadsForAWhile(t, db, p)
		if got := dir.noticesOf(alice.User); len(got) != 0 {
			t.Errorf("alice's management room got %q; want nothing, none of her messages is held up", got)
		}
		if got := dir.noticesOf(bob.User); len(got) != 1 || !strings.Contains(got[0], "cannot read its database") {
			t.Errorf("bob's management room got %q; want one notice that the chat is held up by the database", got)
		}
	})
}

// queueStored queues a message from carol through each of logins, in
// p's backlog: stored, not handed over.
func queueStored(t *testing.T, ctx context.Context, p *Portal, logins ...*network.Login) {
	t.Helper()
	p.durable.backlog.Store(true)
	for _, login := range logins {
		if err := p.m.QueueDurable(ctx, login, textFrom(p, "carol", network.MessageID("from-"+login.ID))); err != nil {
			t.Fatal(err)
		}
	}
}

// roomlessSharedScene is roomlessScene with a second user, bob, whose
// login is stored but was not loaded by its network.
func roomlessSharedScene(t *testing.T, db *database.Database) (ctx context.Context, p *Portal, dir *noticeDir, alice, bob *network.Login) {
	t.Helper()
	ctx, p, dir, alice = roomlessScene(t, db)
	bob = &network.Login{ID: "bob", User: id.UserID("@bob:example.org")}
	if err := db.Logins.Put(ctx, &database.Login{Network: p.Key.Network, ID: bob.ID, UserMXID: bob.User}); err != nil {
		t.Fatal(err)
	}
	return ctx, p, dir, alice, bob
}

// A roomless shared chat whose queued events cannot be read tells each
// of its users once. Where that fails for one of them (the notice is
// refused, or the database cannot say whose login it is, failing as it
// is), that user is told at a later failed read; those who heard are not
// told again at each one, as long as the store stays unreadable.
func TestUserOfARoomlessSharedChatNotToldAtFirstHearsLaterAndTheOthersOnce(t *testing.T) {
	for _, tc := range []struct {
		name string
		// failBob makes the notice to bob fail, and returns what mends it.
		failBob func(t *testing.T, db *database.Database, dir *noticeDir, bob *network.Login) (mend func())
	}{
		{name: "bob's notice refused", failBob: func(t *testing.T, db *database.Database, dir *noticeDir, bob *network.Login) func() {
			setFailUser := func(fail func(id.UserID) error) {
				dir.mu.Lock()
				defer dir.mu.Unlock()
				dir.failUser = fail
			}
			setFailUser(func(user id.UserID) error {
				if user == bob.User {
					return errors.New("the user has no management room")
				}
				return nil
			})
			return func() { setFailUser(nil) }
		}},
		{name: "bob's login not found", failBob: func(t *testing.T, db *database.Database, dir *noticeDir, bob *network.Login) func() {
			renameTable(t, db, "login", "login_away")
			return func() { renameTable(t, db, "login_away", "login") }
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dbtest.Each(t, func(t *testing.T, db *database.Database) {
				ctx, p, dir, alice, bob := roomlessSharedScene(t, db)
				queueStored(t, ctx, p, alice, bob)
				mend := tc.failBob(t, db, dir, bob)

				failReadsForAWhile(t, db, p)
				mend()
				drainOnItsGoroutine(t, p) // the store still cannot be read
				for _, user := range []id.UserID{alice.User, bob.User} {
					if got := dir.noticesOf(user); len(got) != 1 || !strings.Contains(got[0], "cannot read its database") {
						t.Errorf("%s's management room got %q; want one notice that the chat is held up by the database", user, got)
					}
				}
			})
		})
	}
}

// renameTable renames the table from to to in db.
func renameTable(t *testing.T, db *database.Database, from, to string) {
	t.Helper()
	if _, err := db.Exec(context.Background(), `ALTER TABLE `+from+` RENAME TO `+to); err != nil {
		t.Fatal(err)
	}
}
