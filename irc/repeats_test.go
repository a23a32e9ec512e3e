package irc

import (
	"slices"
	"testing"
	"time"

	"github.com/ferrybridge/ferry/bridge/network"
)

// TestRepeatCounterSameOnEveryConnection: two connections that see the
// same lines mint the same IDs, the first of a hash ID unchanged and each
// repeat its own.
func TestRepeatCounterSameOnEveryConnection(t *testing.T) {
	now := time.Date(2026, 11, 28, 1, 0, 0, 0, time.UTC)
	lines := []network.MessageID{"h:open", "h:close", "h:close", "h:other", "h:close"}
	mintAll := func(r *repeatCounter) []network.MessageID {
		var ids []network.MessageID
		for i, line := range lines {
			ids = append(ids, r.mint(line, now.Add(time.Duration(i)*100*time.Millisecond)))
		}
		return ids
	}
	var a, b repeatCounter
	gotA, gotB := mintAll(&a), mintAll(&b)
	want := []network.MessageID{"h:open", "h:close", "h:close~2", "h:other", "h:close~3"}
	if !slices.Equal(gotA, want) || !slices.Equal(gotB, want) {
		t.Errorf("minted %q and %q, want %q on both", gotA, gotB, want)
	}
}

// TestRepeatCounterForgets: counts are dropped once their ID has not been
// seen for repeatKeep, so a long-lived connection holds only recent ones,
// and a line said again much later starts from its plain ID.
func TestRepeatCounterForgets(t *testing.T) {
	var r repeatCounter
	now := time.Date(2026, 11, 28, 1, 0, 0, 0, time.UTC)
	r.mint("h:a", now)
	r.mint("h:b", now)
	later := now.Add(repeatKeep + messageWindow)
	if got := r.mint("h:a", later); got != "h:a" {
		t.Errorf("a line long after the first got %q, want h:a", got)
	}
	if _, kept := r.seen["h:b"]; kept || len(r.seen) != 1 {
		t.Errorf("after repeatKeep the counter holds %v, want only h:a", r.seen)
	}
}
