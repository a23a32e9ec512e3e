package bridge

import (
	"sync"
	"time"
)

// rateLimiter is a token bucket. User and alias queries arrive without the
// asker's identity (any profile lookup triggers them), so they are limited
// globally to keep them from becoming a database load amplifier.
type rateLimiter struct {
	lock   sync.Mutex
	rate   float64 // tokens per second
	burst  float64
	tokens float64
	last   time.Time
}

func newRateLimiter(perSecond, burst float64) *rateLimiter {
	return &rateLimiter{rate: perSecond, burst: burst, tokens: burst, last: time.Now()}
}

func (r *rateLimiter) allow() bool {
	r.lock.Lock()
	defer r.lock.Unlock()
	now := time.Now()
	r.tokens = min(r.burst, r.tokens+now.Sub(r.last).Seconds()*r.rate)
	r.last = now
	if r.tokens < 1 {
		return false
	}
	r.tokens--
	return true
}
