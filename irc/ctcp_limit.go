package irc

import (
	"sync"
	"time"
)

// CTCP replies are chat lines on the login's own connection: each takes
// flood-control budget and a place in the send queue the user's messages
// wait in, and anyone on the network can ask for them. So a login answers
// a few requests at once and then one per ctcpRefill; the rest are
// ignored. The bucket is the login's, not the asker's: clones asking in
// turn share it.
const ctcpBurst = 3

// ctcpRefill is how long the bucket takes to earn one reply back.
var ctcpRefill = newDuration(5 * time.Second)

// ctcpLimit is a login's token bucket for CTCP replies; the zero value
// is full.
type ctcpLimit struct {
	mu sync.Mutex
	// used is how many replies the bucket is short of full, as of at.
	used float64
	at   time.Time
}

// allow takes a reply from the bucket, if one is left.
func (l *ctcpLimit) allow(now time.Time) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	if !l.at.IsZero() {
		l.used -= float64(now.Sub(l.at)) / float64(ctcpRefill.get())
		l.used = max(l.used, 0)
	}
	l.at = now
	if l.used+1 > ctcpBurst {
		return false
	}
	l.used++
	return true
}
