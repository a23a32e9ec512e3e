package puppets

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"maunium.net/go/mautrix/event"
	"maunium.net/go/mautrix/id"
)

// The wait before retrying a refused request: the Retry-After header
// (seconds or an HTTP date) first, then the body's retry_after_ms, then
// the backoff; never negative, never past maxRetryAfter. The errors are
// real mautrix errors, from a stand-in homeserver's answers.
func TestRetryDelayHonoursRetryAfter(t *testing.T) {
	const backoff = 200 * time.Millisecond
	limited := `{"errcode":"M_LIMIT_EXCEEDED","error":"slow down"}`
	limitedMS := func(ms int) string {
		return `{"errcode":"M_LIMIT_EXCEEDED","error":"slow down","retry_after_ms":` + itoa(ms) + `}`
	}
	for _, tc := range []struct {
		name       string
		status     int
		retryAfter string
		body       string
		want       time.Duration
	}{
		{"header only", 429, "7", limited, 7 * time.Second},
		{"header before body", 429, "3", limitedMS(1500), 3 * time.Second},
		{"body only", 429, "", limitedMS(1500), 1500 * time.Millisecond},
		{"neither", 429, "", limited, backoff},
		{"zero seconds", 429, "0", limitedMS(1500), 1500 * time.Millisecond},
		{"negative seconds", 429, "-5", limited, backoff},
		{"date in the past", 429, "Wed, 21 Oct 2015 07:28:00 GMT", limited, backoff},
		{"date far ahead", 429, time.Now().Add(24 * time.Hour).UTC().Format(http.TimeFormat), limited, maxRetryAfter},
		{"too many seconds", 429, "86400", limited, maxRetryAfter},
		{"huge body", 429, "", limitedMS(86_400_000), maxRetryAfter},
		{"unreadable header", 429, "soon", limitedMS(1500), 1500 * time.Millisecond},
		{"503 with header", 503, "2", `{"errcode":"M_UNKNOWN","error":"down for maintenance"}`, 2 * time.Second},
	} {
		t.Run(tc.name, func(t *testing.T) {
			hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if tc.retryAfter != "" {
					w.Header().Set("Retry-After", tc.retryAfter)
				}
				w.Header().Set("Content-Type", "application/json")
				w.WriteHeader(tc.status)
				_, _ = io.WriteString(w, tc.body)
			}))
			defer hs.Close()
			m := matrixFor(t, hs.URL)
			_, err := m.Bot().SendMessageEvent(context.Background(), id.RoomID("!r:example.org"), event.EventMessage,
				&event.MessageEventContent{MsgType: event.MsgText, Body: "hi"})
			if err == nil {
				t.Fatal("the send succeeded")
			}
			got, retryable := retryDelay(err, backoff)
			if !retryable {
				t.Fatalf("%v is not retried", err)
			}
			// A date is read against the clock: a second either way.
			if diff := got - tc.want; diff < -time.Second || diff > time.Second || got <= 0 {
				t.Errorf("wait %v, want %v", got, tc.want)
			}
		})
	}
}

func itoa(n int) string { return fmt.Sprint(n) }
