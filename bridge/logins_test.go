package bridge

import (
	"context"
	"sync"
	"testing"

	"github.com/ferrybridge/ferry/bridge/network"
	"github.com/ferrybridge/ferry/database"
	"github.com/ferrybridge/ferry/internal/dbtest"
)

// A network saves its login (IRC does on every nick change) while
// portals read it on their own goroutines: the race detector, which the
// suite runs under, fails this test if the two are not synchronised.
func TestLoginIsReadWhileTheNetworkSavesIt(t *testing.T) {
	db := dbtest.Open(t, database.DefaultType, dbtest.SQLiteURI(t))
	le := &loginEntry{net: "irc"}
	first := &network.Login{ID: "a", User: "@alice:example.org", RemoteName: "alice"}
	le.login.Store(first)
	b := releaseTestBridge(t, db, map[loginKey]*loginEntry{{"irc", "a"}: le})
	h := &host{b: b, net: "irc"}
	ctx := context.Background()

	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for i := range 20 {
			saved := *first
			saved.RemoteName = "alice" + string(rune('a'+i))
			if err := h.SaveLogin(ctx, &saved); err != nil {
				t.Error(err)
				return
			}
		}
	}()
	for range 200 {
		if got := b.Login("irc", "a"); got == nil || got.ID != "a" {
			t.Fatalf("Login = %+v while it was being saved", got)
		}
	}
	wg.Wait()
	if got := b.Login("irc", "a"); got.RemoteName != "alicet" {
		t.Errorf("after the saves the bridge has %q, want the last one saved", got.RemoteName)
	}
}
