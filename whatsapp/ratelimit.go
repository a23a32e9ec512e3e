package whatsapp

import (
	"fmt"
	"sync"
	"time"
)

// Number lookups (IsOnWhatsApp, for `whatsapp pm` and starting DMs from
// Matrix) are limited per login: WhatsApp treats an account that asks
// about many numbers as an enumerator and may ban it. A token bucket lets
// a few lookups through at once and then one every lookupEvery.
const (
	lookupBurst = 3
	lookupEvery = 20 * time.Second
)

// tokenBucket holds up to burst tokens and gains one every every.
type tokenBucket struct {
	burst int
	every time.Duration
	now   func() time.Time

	mu     sync.Mutex
	tokens float64
	last   time.Time
}

func newTokenBucket(burst int, every time.Duration) *tokenBucket {
	return &tokenBucket{burst: burst, every: every, now: time.Now, tokens: float64(burst)}
}

// take spends a token, or says how long until one is there.
func (b *tokenBucket) take() (ok bool, wait time.Duration) {
	b.mu.Lock()
	defer b.mu.Unlock()
	now := b.now()
	if !b.last.IsZero() {
		b.tokens = min(float64(b.burst), b.tokens+float64(now.Sub(b.last))/float64(b.every))
	}
	b.last = now
	if b.tokens >= 1 {
		b.tokens--
		return true, 0
	}
	return false, time.Duration((1 - b.tokens) * float64(b.every))
}

// waitText says a wait the way a person reads it, rounded up to seconds.
func waitText(d time.Duration) string {
	secs := int((d + time.Second - 1) / time.Second)
	switch {
	case secs <= 1:
		return "a second"
	case secs < 60:
		return fmt.Sprintf("%d seconds", secs)
	case secs < 120:
		return "a minute"
	default:
		return fmt.Sprintf("%d minutes", (secs+59)/60)
	}
}
