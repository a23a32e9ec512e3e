package irc

import (
	"hash/maphash"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ferrybridge/ferry/bridge/network"
)

// Repeated lines on networks without msgid. Without the server's msgid a
// line's ID is a hash of who said what, where and when (messageID), the
// same on every Ferry connection that sees the line, so that a shared
// portal bridges it once. A person saying the same thing twice within the
// hash's time window (a pasted block of code has many a "}") got the same
// ID twice, and the core took the second line for a copy of the first and
// dropped it. So each login counts the lines it has seen under one such
// ID and gives the second and later ones their count as a suffix. Every
// connection in a channel sees its lines in the server's order, so they
// all mint the same IDs for the repeats too.
//
// A login that joined the channel between two repeats never saw the
// earlier ones: counting from its own first, it would give a later line
// an ID already bridged, and if no login that saw the earlier lines still
// reads the channel (it left as this one joined), that line would be
// lost. So the counter is shared by the network's logins (the Connector
// holds it) and notes when the first login read each repeat; a login
// skips the repeats first read before it joined, which it cannot have
// seen. Only if a login reads its own JOIN later than another reads a line
// the server sent after that JOIN can it skip one too many, and then a
// line is bridged twice, never dropped.
//
// Every line read on such a network is counted, so the counter is on the
// read path of all the network's logins. It is sharded by ID: a count
// needs only its own ID's entry, and logins reading different channels
// (whose IDs differ) rarely wait for one lock.
type repeatCounter struct {
	shards [repeatShards]repeatShard
	// lastPrune is when the stale counts of all shards were last
	// dropped, in Unix nanoseconds: the count that finds it a
	// messageWindow old drops them, a shard at a time.
	lastPrune atomic.Int64
}

// repeatShards is how many locks the IDs are spread over: many more than
// the cores that read lines at once.
const repeatShards = 64

// repeatShard holds the counts of the IDs that hash to it.
type repeatShard struct {
	mu   sync.Mutex
	seen map[network.MessageID]*repeatSeen
}

// repeatSeed seeds the hash that picks an ID's shard.
var repeatSeed = maphash.MakeSeed()

// shard is the shard that counts the lines under key.
func (r *repeatCounter) shard(key network.MessageID) *repeatShard {
	return &r.shards[maphash.String(repeatSeed, string(key))%repeatShards]
}

type repeatSeen struct {
	// firsts[i] is when a login first read the (base+i+1)th line under
	// the ID; the read times of the first base lines are forgotten (see
	// maxRepeats).
	firsts []time.Time
	base   int
	// counts is how many of those lines each login has read (or skipped).
	counts map[network.LoginID]int
	last   time.Time
}

// repeatKeep is how long a count is kept after its ID was last seen:
// longer than the time bucket in the ID lasts, with room for a server's
// clock running behind ours.
const repeatKeep = 4 * messageWindow

// maxRepeats bounds the read times kept under one ID: a line said again
// and again, never 8 s apart, would otherwise grow them for ever. Past it
// the older half is forgotten, but the count goes on: starting it over
// would give a line said for the 1001st time within one window the ID
// of the first, and the core would drop it as a copy.
const maxRepeats = 1000

// mint returns the ID login gives a line whose hash ID is id (one with
// server-time), read at now in a chat it joined at joined (zero for a
// PM, which only it reads): id itself for the first line under id, id~N
// for the Nth. Both times are our clock's.
func (r *repeatCounter) mint(id network.MessageID, login network.LoginID, joined, now time.Time) network.MessageID {
	n, _ := r.count(id, login, joined, now)
	return withRepeat(id, n)
}

// mintUntimed is mint for a line without server-time, whose hash ID
// holds the time it was read (rounded to messageWindow): each login
// reads it at its own moment, and two that read it on either side of a
// window's edge would give it two IDs, and the shared room would get it
// twice. So the lines are counted under key, their hash without time,
// and the ID is idAt the time the first login read the line, the same
// for every login.
func (r *repeatCounter) mintUntimed(key network.MessageID, idAt func(read time.Time) network.MessageID, login network.LoginID, joined, now time.Time) network.MessageID {
	n, first := r.count("untimed "+key, login, joined, now)
	return withRepeat(idAt(first), n)
}

// withRepeat is id for the first line under it, id~N for the Nth.
func withRepeat(id network.MessageID, n int) network.MessageID {
	if n <= 1 {
		return id
	}
	return id + network.MessageID("~"+strconv.Itoa(n))
}

// count notes that login read, at now, a line under key in a chat it
// joined at joined, and returns which line under key that is (1 for the
// first) and when the first login read that line.
func (r *repeatCounter) count(key network.MessageID, login network.LoginID, joined, now time.Time) (int, time.Time) {
	r.pruneIfDue(now)
	sh := r.shard(key)
	sh.mu.Lock()
	defer sh.mu.Unlock()
	if sh.seen == nil {
		sh.seen = make(map[network.MessageID]*repeatSeen)
	}
	s := sh.seen[key]
	if s == nil {
		s = &repeatSeen{counts: make(map[network.LoginID]int, 1)}
		sh.seen[key] = s
	}
	// A login behind the forgotten read times (new here, or more than
	// maxRepeats lines behind) goes on from the oldest kept one: at
	// worst it bridges lines twice, never under an earlier line's ID.
	n := max(s.counts[login], s.base)
	for n-s.base < len(s.firsts) && s.firsts[n-s.base].Before(joined) {
		n++ // said before this login joined: it never saw it
	}
	n++
	if n-s.base > len(s.firsts) {
		s.firsts = append(s.firsts, now)
	}
	first := s.firsts[n-s.base-1]
	if len(s.firsts) > maxRepeats {
		half := len(s.firsts) / 2
		s.firsts = append([]time.Time(nil), s.firsts[half:]...)
		s.base += half
	}
	s.counts[login] = n
	s.last = now
	return n, first
}

// pruneIfDue drops the counts not seen for repeatKeep, in every shard,
// once a messageWindow after it last did: a long-lived connection holds
// only recent ones, also of channels gone quiet.
func (r *repeatCounter) pruneIfDue(now time.Time) {
	last, at := r.lastPrune.Load(), now.UnixNano()
	if at-last < int64(messageWindow) || !r.lastPrune.CompareAndSwap(last, at) {
		return // not due, or another count prunes
	}
	for i := range r.shards {
		sh := &r.shards[i]
		sh.mu.Lock()
		for k, s := range sh.seen {
			if now.Sub(s.last) > repeatKeep {
				delete(sh.seen, k)
			}
		}
		sh.mu.Unlock()
	}
}
