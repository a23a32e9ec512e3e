package irc

import (
	"strconv"
	"sync"
	"time"

	"github.com/ferrybridge/ferry/bridge/network"
)

// Repeated lines on networks without msgid. Without the server's msgid a
// line's ID is a hash of who said what, where and when (messageID), the
// same on every Ferry connection that sees the line, so that a shared
// portal bridges it once. A person saying the same thing twice within the
// hash's time window (a pasted block of code has many a "}") got the same
// ID twice, and the core took the second line for a copy of the first and
// dropped it. So each connection counts the lines it has seen under one
// such ID and gives the second and later ones their count as a suffix.
// Every connection in a channel sees its lines in the server's order, so
// they all mint the same IDs for the repeats too. One that joined between
// two repeats counts from its own first, so its IDs repeat ones already
// bridged and the core drops its copies, rightly while another login
// still reads the channel. Only if that other login left within the same
// second, after the first line, is the later line lost: both logins'
// copies then carry the first line's ID.
type repeatCounter struct {
	mu        sync.Mutex
	seen      map[network.MessageID]repeatSeen
	lastPrune time.Time
}

type repeatSeen struct {
	n    int
	last time.Time
}

// repeatKeep is how long a count is kept after its ID was last seen:
// longer than the time bucket in the ID lasts, with room for a server's
// clock running behind ours.
const repeatKeep = 4 * messageWindow

// mint returns the ID for a line whose hash ID is id, seen now: id itself
// the first time, id~N for the Nth line with the same hash ID.
func (r *repeatCounter) mint(id network.MessageID, now time.Time) network.MessageID {
	r.mu.Lock()
	defer r.mu.Unlock()
	if now.Sub(r.lastPrune) >= messageWindow {
		for k, s := range r.seen {
			if now.Sub(s.last) > repeatKeep {
				delete(r.seen, k)
			}
		}
		r.lastPrune = now
	}
	if r.seen == nil {
		r.seen = make(map[network.MessageID]repeatSeen)
	}
	s := r.seen[id]
	s.n++
	s.last = now
	r.seen[id] = s
	if s.n == 1 {
		return id
	}
	return id + network.MessageID("~"+strconv.Itoa(s.n))
}
