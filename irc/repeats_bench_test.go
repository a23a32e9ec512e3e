package irc

import (
	"runtime"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ferrybridge/ferry/bridge/network"
)

// BenchmarkRepeatCounterChannels is the repeat count on the read path of
// a network without msgid: logins in parallel, each reading lines of 64
// channels of its own, a line a millisecond, all through the one counter
// of their network. The lines are all different, as most are; a line
// comes again only long after the counter forgot it. With one lock for
// the counter the logins wait for each other; with a lock a shard they
// rarely meet.
func BenchmarkRepeatCounterChannels(b *testing.B) {
	const channels, lines = 64, 1 << 14
	start := time.Date(2026, 11, 28, 1, 0, 0, 0, time.UTC)
	// The IDs are made beforehand: their hash is not what is measured.
	ids := make([][]network.MessageID, runtime.GOMAXPROCS(0))
	for login := range ids {
		ids[login] = make([]network.MessageID, lines)
		for i := range lines {
			channel := "#" + strconv.Itoa(login) + "-" + strconv.Itoa(i%channels)
			ids[login][i] = messageID("net", "rfc1459", channel, "bob", strconv.Itoa(i), "", start, true, time.Time{})
		}
	}
	var r repeatCounter
	var logins atomic.Int32
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		login := int(logins.Add(1)) - 1
		id, mine := network.LoginID(strconv.Itoa(login)), ids[login]
		now := start
		for i := 0; pb.Next(); i++ {
			now = now.Add(time.Millisecond)
			r.mint(mine[i%lines], id, start, now)
		}
	})
}
