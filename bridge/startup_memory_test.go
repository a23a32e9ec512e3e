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

// releaseCounts counts the memory-returning calls.
type releaseCounts struct {
	goCalls, cCalls, pacing atomic.Int32
	// goCallsAtPacing is goCalls when the pacing was last restored.
	goCallsAtPacing atomic.Int32
}

// countReleases replaces the memory-returning calls with counters and
// makes the settle check fast, for the test's duration.
func countReleases(t *testing.T) *releaseCounts {
	t.Helper()
	c := new(releaseCounts)
	savedFree, savedC, savedGC, savedCheck, savedMax := freeOSMemory, ReleaseCMemory, StartupGCDone, restoreSettleCheck, restoreSettleMax
	t.Cleanup(func() {
		freeOSMemory, ReleaseCMemory, StartupGCDone, restoreSettleCheck, restoreSettleMax = savedFree, savedC, savedGC, savedCheck, savedMax
	})
	freeOSMemory = func() { c.goCalls.Add(1) }
	ReleaseCMemory = func() { c.cCalls.Add(1) }
	StartupGCDone = func() {
		c.goCallsAtPacing.Store(c.goCalls.Load())
		c.pacing.Add(1)
	}
	restoreSettleCheck, restoreSettleMax = 10*time.Millisecond, time.Hour
	return c
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
	c := countReleases(t)
	le := &loginEntry{state: network.State{Kind: network.StateConnecting}}
	db := dbtest.Open(t, database.DefaultType, dbtest.SQLiteURI(t))
	b := releaseTestBridge(t, db, map[loginKey]*loginEntry{{"irc", "a"}: le})
	b.wg.Add(1)
	go b.releaseStartupMemory()

	time.Sleep(100 * time.Millisecond)
	if n := c.goCalls.Load(); n != 0 {
		t.Fatalf("memory released %d times while a login was still connecting", n)
	}
	le.lock.Lock()
	le.state = network.State{Kind: network.StateConnected}
	le.lock.Unlock()
	b.wg.Wait()
	if n, cm, st := c.goCalls.Load(), c.cCalls.Load(), c.pacing.Load(); n != 1 || cm != 1 || st != 1 {
		t.Errorf("memory released %d times (C memory %d, pacing restored %d) after the logins settled, want once", n, cm, st)
	}
}

// TestStartupMemoryIsReleasedWithoutLogins: a bridge with no users has
// start-up garbage and database caches too; they are released at the
// first check.
func TestStartupMemoryIsReleasedWithoutLogins(t *testing.T) {
	c := countReleases(t)
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
	if n, cm, st := c.goCalls.Load(), c.cCalls.Load(), c.pacing.Load(); n != 1 || cm != 1 || st != 1 {
		t.Errorf("memory released %d times (C memory %d, pacing restored %d), want once", n, cm, st)
	}
	if c.goCallsAtPacing.Load() != 1 {
		t.Error("with no logins, the collector's pacing was restored before the start's memory was returned")
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

// TestStartupGCPacingIsRestoredOnce: a bridge restoring logins restores
// the collector's pacing before them, and the release after they settle
// does not restore it again.
func TestStartupGCPacingIsRestoredOnce(t *testing.T) {
	c := countReleases(t)
	db := dbtest.Open(t, database.DefaultType, dbtest.SQLiteURI(t))
	b := releaseTestBridge(t, db, map[loginKey]*loginEntry{})
	b.endStartupGC() // as loadLogins does before the first stored login
	if n := c.pacing.Load(); n != 1 {
		t.Fatalf("pacing restored %d times before the logins, want once", n)
	}
	b.wg.Add(1)
	b.releaseStartupMemory()
	if n, st := c.goCalls.Load(), c.pacing.Load(); n != 1 || st != 1 {
		t.Errorf("after the release: memory returned %d times, pacing restored %d times; want once each", n, st)
	}
}
