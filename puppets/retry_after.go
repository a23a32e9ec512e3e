package puppets

import (
	"net/http"
	"strconv"
	"strings"
	"time"
)

// maxRetryAfter bounds the wait a homeserver (or a proxy in front of
// it) may ask for: a wrong or hostile answer must not park a portal for
// hours. A longer outage is RetryFor's business (durable_outage.go in
// portals keeps what it gives up).
const maxRetryAfter = 5 * time.Minute

// askedWait is the wait a 429 or 503 asks for: the standard Retry-After
// header first (seconds or an HTTP date; what newer homeservers and
// proxies send, spec v1.10+), then the Matrix body's retry_after_ms
// (bodyMS, 0 when absent); ok is false when it asks for none. A wait of
// nothing (0, a negative number, a date in the past) counts as not
// asked: retrying at once, over and over, is what the backoff is there
// to prevent. A wait is at most maxRetryAfter.
func askedWait(header http.Header, bodyMS float64) (wait time.Duration, ok bool) {
	if v := strings.TrimSpace(header.Get("Retry-After")); v != "" {
		if secs, err := strconv.ParseInt(v, 10, 64); err == nil {
			wait = time.Duration(min(secs, int64(maxRetryAfter/time.Second))) * time.Second
		} else if at, err := http.ParseTime(v); err == nil {
			wait = min(time.Until(at), maxRetryAfter)
		}
		if wait > 0 {
			return wait, true
		}
		// Unreadable, or nothing: the body may still say.
	}
	if bodyMS > 0 {
		return min(time.Duration(min(bodyMS, float64(maxRetryAfter/time.Millisecond)))*time.Millisecond, maxRetryAfter), true
	}
	return 0, false
}
