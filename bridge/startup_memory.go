package bridge

import (
	"runtime/debug"
	"time"

	"github.com/ferrybridge/ferry/bridge/network"
)

// Restoring many logins at start allocates a burst (TLS handshakes,
// registration replies, database reads) that is garbage a moment later.
// Go keeps the heap it grew to as headroom for the next collections and
// returns the rest to the system only slowly, so an idle bridge would
// carry the burst's size long after. Once the restored logins have
// settled, Ferry returns that memory once.
var (
	// restoreSettleCheck is how often the logins' states are looked at.
	restoreSettleCheck = time.Second
	// restoreSettleMax bounds the wait for logins that never settle
	// (a network that is down keeps reporting "connecting").
	restoreSettleMax = 5 * time.Minute
	// freeOSMemory is debug.FreeOSMemory; tests count the calls.
	freeOSMemory = debug.FreeOSMemory
)

// releaseStartupMemory waits until no restored login is still connecting
// (or restoreSettleMax has passed), then returns unused memory to the
// system once.
func (b *Bridge) releaseStartupMemory() {
	defer b.wg.Done()
	deadline := time.NewTimer(restoreSettleMax)
	defer deadline.Stop()
	tick := time.NewTicker(restoreSettleCheck)
	defer tick.Stop()
	for {
		select {
		case <-b.ctx.Done():
			return
		case <-deadline.C:
		case <-tick.C:
			if b.loginsConnecting() > 0 {
				continue
			}
		}
		freeOSMemory()
		b.Log.Debug().Msg("Restored logins settled; returned unused memory to the system")
		return
	}
}

// loginsConnecting counts the running logins still connecting.
func (b *Bridge) loginsConnecting() int {
	b.loginLock.RLock()
	defer b.loginLock.RUnlock()
	n := 0
	for _, le := range b.logins {
		le.lock.Lock()
		if le.state.Kind == network.StateConnecting {
			n++
		}
		le.lock.Unlock()
	}
	return n
}
