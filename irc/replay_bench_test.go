package irc

import (
	"runtime"
	"strconv"
	"sync/atomic"
	"testing"

	"gopkg.in/irc.v4"
)

// BenchmarkUntimedLinesChannels is the replay memory on the read path of
// a network with neither server-time nor msgid: logins in parallel, each
// reading lines of 64 channels of its own, every line looked up (read in
// a replay window) and remembered, all through the one memory of the
// Connector. With one lock for it the logins wait for each other; with a
// lock a shard they rarely meet.
func BenchmarkUntimedLinesChannels(b *testing.B) {
	const channels, lines = 64, 1 << 12
	// The keys and lines are made beforehand: not what is measured.
	type read struct {
		key string
		msg *irc.Message
	}
	reads := make([][]read, runtime.GOMAXPROCS(0))
	for login := range reads {
		reads[login] = make([]read, lines)
		for i := range lines {
			channel := "#" + strconv.Itoa(login) + "-" + strconv.Itoa(i%channels)
			reads[login][i] = read{untimedKey("net", channel), &irc.Message{
				Prefix: &irc.Prefix{Name: "bob", User: "b", Host: "h"}, Command: "PRIVMSG",
				Params: []string{channel, "line " + strconv.Itoa(i)},
			}}
		}
	}
	var u untimedLines
	var logins atomic.Int32
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		mine := reads[int(logins.Add(1))-1]
		for i := 0; pb.Next(); i++ {
			r := mine[i%lines]
			if !u.seen(r.key, r.msg) {
				u.remember(r.key, r.msg)
			}
		}
	})
}
