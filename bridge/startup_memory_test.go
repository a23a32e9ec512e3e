package bridge

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/ferrybridge/ferry/bridge/network"
	"github.com/ferrybridge/ferry/database"
	"github.com/ferrybridge/ferry/internal/dbtest"
)

// countReleases replaces the memory-returning calls with counters and
// makes the settle check fast, for the test's duration.
func countReleases(t *testing.T) (goCalls, cCalls *atomic.Int32) {
	t.Helper()
	goCalls, cCalls = new(atomic.Int32), new(atomic.Int32)
	savedFree, savedC, savedSettled, savedCheck, savedMax := freeOSMemory, ReleaseCMemory, StartupSettled, restoreSettleCheck, restoreSettleMax
	t.Cleanup(func() {
		freeOSMemory, ReleaseCMemory, StartupSettled, restoreSettleCheck, restoreSettleMax = savedFree, savedC, savedSettled, savedCheck, savedMax
	})
	freeOSMemory = func() { goCalls.Add(1) }
	ReleaseCMemory = func() { cCalls.Add(1) }
	StartupSettled = func() {
		// The collection that returns the memory must come first.
		if goCalls.Load() == 0 {
			t.Error("the start was reported settled before its memory was returned")
		}
	}
	restoreSettleCheck, restoreSettleMax = 10*time.Millisecond, time.Hour
	return goCalls, cCalls
}

func releaseTestBridge(t *testing.T, db *database.Database, logins map[loginKey]*loginEntry) *Bridge {
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	return &Bridge{ctx: ctx, Log: zerolog.Nop(), DB: db, logins: logins}
}

// TestStartupMemoryIsReleasedOnceLoginsSettle: unused memory goes back to
// the system once, when no restored login is connecting any more, and not
// while one still is.
func TestStartupMemoryIsReleasedOnceLoginsSettle(t *testing.T) {
	goCalls, cCalls := countReleases(t)
	le := &loginEntry{state: network.State{Kind: network.StateConnecting}}
	db := dbtest.Open(t, database.DefaultType, dbtest.SQLiteURI(t))
	b := releaseTestBridge(t, db, map[loginKey]*loginEntry{{"irc", "a"}: le})
	b.wg.Add(1)
	go b.releaseStartupMemory()

	time.Sleep(100 * time.Millisecond)
	if n := goCalls.Load(); n != 0 {
		t.Fatalf("memory released %d times while a login was still connecting", n)
	}
	le.lock.Lock()
	le.state = network.State{Kind: network.StateConnected}
	le.lock.Unlock()
	b.wg.Wait()
	if n, c := goCalls.Load(), cCalls.Load(); n != 1 || c != 1 {
		t.Errorf("memory released %d times (C memory %d) after the logins settled, want once", n, c)
	}
}

// TestStartupMemoryIsReleasedWithoutLogins: a bridge with no users has
// start-up garbage and database caches too; they are released at the
// first check.
func TestStartupMemoryIsReleasedWithoutLogins(t *testing.T) {
	goCalls, cCalls := countReleases(t)
	db := dbtest.Open(t, database.DefaultType, dbtest.SQLiteURI(t))
	b := releaseTestBridge(t, db, map[loginKey]*loginEntry{})
	b.wg.Add(1)
	go b.releaseStartupMemory()
	done := make(chan struct{})
	go func() { b.wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("no release with no logins")
	}
	if n, c := goCalls.Load(), cCalls.Load(); n != 1 || c != 1 {
		t.Errorf("memory released %d times (C memory %d), want once", n, c)
	}
}

// TestReleaseMemoryKeepsTheDatabaseUsable: emptying SQLite's caches
// leaves every connection back in the pool, and reads and writes work
// afterwards, the data intact.
func TestReleaseMemoryKeepsTheDatabaseUsable(t *testing.T) {
	countReleases(t)
	ctx := context.Background()
	db := dbtest.Open(t, database.DefaultType, dbtest.SQLiteURI(t))
	put := func(id string) {
		t.Helper()
		if err := db.Logins.Put(ctx, &database.Login{Network: "irc", ID: network.LoginID(id), UserMXID: "@a:example.org"}); err != nil {
			t.Fatal(err)
		}
	}
	put("a")
	// Two connections busy at once, so that the pool keeps more than one
	// idle afterwards.
	c1, err := db.RawDB.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	c2, err := db.RawDB.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	c1.Close()
	c2.Close()

	b := releaseTestBridge(t, db, nil)
	b.releaseMemory()
	if st := db.RawDB.Stats(); st.InUse != 0 || st.Idle == 0 {
		t.Errorf("after the release: %d connections in use, %d idle; want 0 and the idle ones kept", st.InUse, st.Idle)
	}
	put("b")
	for _, id := range []network.LoginID{"a", "b"} {
		if l, err := db.Logins.Get(ctx, "irc", id); err != nil || l == nil {
			t.Errorf("login %s after the release: %v, %v", id, l, err)
		}
	}
}
