package bridge

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/ferrybridge/ferry/bridge/network"
)

// TestStartupMemoryIsReleasedOnceLoginsSettle: unused memory goes back to
// the system once, when no restored login is connecting any more, and not
// while one still is.
func TestStartupMemoryIsReleasedOnceLoginsSettle(t *testing.T) {
	var calls atomic.Int32
	savedFree, savedCheck, savedMax := freeOSMemory, restoreSettleCheck, restoreSettleMax
	t.Cleanup(func() { freeOSMemory, restoreSettleCheck, restoreSettleMax = savedFree, savedCheck, savedMax })
	freeOSMemory = func() { calls.Add(1) }
	restoreSettleCheck, restoreSettleMax = 10*time.Millisecond, time.Hour

	le := &loginEntry{state: network.State{Kind: network.StateConnecting}}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	b := &Bridge{ctx: ctx, Log: zerolog.Nop(), logins: map[loginKey]*loginEntry{{"irc", "a"}: le}}
	b.wg.Add(1)
	go b.releaseStartupMemory()

	time.Sleep(100 * time.Millisecond)
	if n := calls.Load(); n != 0 {
		t.Fatalf("memory released %d times while a login was still connecting", n)
	}
	le.lock.Lock()
	le.state = network.State{Kind: network.StateConnected}
	le.lock.Unlock()
	b.wg.Wait()
	if n := calls.Load(); n != 1 {
		t.Errorf("memory released %d times after the logins settled, want once", n)
	}
}
