package irc

import (
	"testing"
	"time"

	"github.com/ferrybridge/ferry/bridge/network"
)

// TestRepeatCounterPastTheBound: a line said more than maxRepeats times
// within one window (a flood-exempt bot, a backlog read at once) gives
// every line an ID of its own, on a login reading at once and on one
// reading a line behind; none is the ID of an earlier line, which the
// core would drop as its copy. Without server-time too.
func TestRepeatCounterPastTheBound(t *testing.T) {
	now := time.Date(2026, 11, 28, 1, 0, 0, 0, time.UTC).Truncate(messageWindow)
	joined := now.Add(-time.Minute)
	idAt := func(read time.Time) network.MessageID {
		return messageID("net", "rfc1459", "#c", "bob", "}", "", time.Time{}, false, read)
	}
	mints := map[string]func(r *repeatCounter, login network.LoginID, at time.Time) network.MessageID{
		"server-time": func(r *repeatCounter, login network.LoginID, at time.Time) network.MessageID {
			return r.mint("h:x", login, joined, at)
		},
		"untimed": func(r *repeatCounter, login network.LoginID, at time.Time) network.MessageID {
			return r.mintUntimed("k", idAt, login, joined, at)
		},
	}
	for name, mint := range mints {
		t.Run(name, func(t *testing.T) {
			var r repeatCounter
			lines := 3*maxRepeats + 1
			seen := make(map[network.MessageID]int, lines)
			var lagging network.MessageID
			for i := 1; i <= lines; i++ {
				at := now.Add(time.Duration(i) * time.Microsecond) // all in one window
				id := mint(&r, "a", at)
				if first, dup := seen[id]; dup {
					t.Fatalf("line %d got %q, the ID of line %d", i, id, first)
				}
				seen[id] = i
				// b reads each line after a has read the next one.
				if i > 1 {
					if got := mint(&r, "b", at); got != lagging {
						t.Fatalf("b gave line %d %q, a gave it %q", i-1, got, lagging)
					}
				}
				lagging = id
			}
			for _, s := range r.held() {
				if len(s.firsts) > maxRepeats {
					t.Errorf("the counter keeps %d read times for one line, want at most %d", len(s.firsts), maxRepeats)
				}
			}
		})
	}
}
