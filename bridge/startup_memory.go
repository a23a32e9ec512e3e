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
// settled, Ferry returns that memory once. The same holds with no logins
// at all: the migrations and the homeserver calls of the start leave
// garbage and SQLite caches behind, so the release then happens at the
// first check.
var (
	// restoreSettleCheck is how often the logins' states are looked at.
	restoreSettleCheck = time.Second
	// restoreSettleMax bounds the wait for logins that never settle
	// (a network that is down keeps reporting "connecting").
	restoreSettleMax = 5 * time.Minute
	// freeOSMemory is debug.FreeOSMemory; tests count the calls.
	freeOSMemory = debug.FreeOSMemory
)

// StartupGCDone, when set, restores the garbage collector's pacing, which
// cmd/ferry relaxes for the start so that the start's garbage is collected
// once, when it has settled. The bridge calls it once (endStartupGC):
//   - before it restores stored logins: their connect burst is collected
//     at the usual pace, since a relaxed pace leaves more of the burst's
//     pages fragmented (2.6 KiB more per idle TLS login at K=1000);
//   - with no logins, right after the start's memory was returned.
//     Restoring before would set a heap goal below the start's garbage,
//     and the collection that forces would come on top of the one that
//     returns the memory.
var StartupGCDone func()

// ReleaseCMemory, when set, hands memory that the C allocator holds free
// back to the system; cmd/ferry sets it to glibc's malloc_trim where cgo
// is on. SQLite allocates its caches with malloc, which
// debug.FreeOSMemory does not reach, and glibc keeps freed chunks inside
// its arenas, so emptying SQLite's caches alone leaves RSS as it was.
var ReleaseCMemory func()

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
		b.releaseMemory()
		return
	}
}

// releaseMemory empties SQLite's caches, then returns free Go and C
// memory to the system.
func (b *Bridge) releaseMemory() {
	log := b.Log.With().Str("action", "release startup memory").Logger()
	if err := b.DB.ReleaseCaches(b.ctx); err != nil {
		// Only memory stays: the bridge works on.
		log.Warn().Err(err).Msg("Failed to empty the database's caches")
	}
	freeOSMemory()
	b.endStartupGC()
	if ReleaseCMemory != nil {
		ReleaseCMemory()
	}
	log.Debug().Msg("Restored logins settled; returned unused memory to the system")
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

// endStartupGC restores the collector's pacing, once.
func (b *Bridge) endStartupGC() {
	b.startupGCDone.Do(func() {
		if StartupGCDone != nil {
			StartupGCDone()
		}
	})
}
