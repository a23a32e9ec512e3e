package irc

import (
	"maps"
	"slices"
	"testing"
	"time"

	"github.com/ferrybridge/ferry/bridge/network"
)

// TestRepeatCounterSameOnEveryConnection: two logins that see the same
// lines mint the same IDs, the first of a hash ID unchanged and each
// repeat its own, whichever reads a line first.
func TestRepeatCounterSameOnEveryConnection(t *testing.T) {
	now := time.Date(2026, 11, 28, 1, 0, 0, 0, time.UTC)
	joined := now.Add(-time.Minute)
	lines := []network.MessageID{"h:open", "h:close", "h:close", "h:other", "h:close"}
	var r repeatCounter
	var gotA, gotB []network.MessageID
	for i, line := range lines {
		at := now.Add(time.Duration(i) * 100 * time.Millisecond)
		if i%2 == 0 { // a reads this one first
			gotA = append(gotA, r.mint(line, "a", joined, at))
			gotB = append(gotB, r.mint(line, "b", joined, at.Add(time.Millisecond)))
		} else {
			gotB = append(gotB, r.mint(line, "b", joined, at))
			gotA = append(gotA, r.mint(line, "a", joined, at.Add(time.Millisecond)))
		}
	}
	want := []network.MessageID{"h:open", "h:close", "h:close~2", "h:other", "h:close~3"}
	if !slices.Equal(gotA, want) || !slices.Equal(gotB, want) {
		t.Errorf("minted %q and %q, want %q on both", gotA, gotB, want)
	}
}

// TestRepeatCounterNewcomer: a login that joined after the first of two
// repeats gives the second its own ID, not the first's; one that joined
// before but reads late counts from the first.
func TestRepeatCounterNewcomer(t *testing.T) {
	now := time.Date(2026, 11, 28, 1, 0, 0, 0, time.UTC)
	var r repeatCounter
	early := now.Add(-time.Minute)
	if got := r.mint("h:x", "a", early, now); got != "h:x" {
		t.Fatalf("first line: %q", got)
	}
	// b joins after a read the first line, and reads the second.
	if got := r.mint("h:x", "b", now.Add(100*time.Millisecond), now.Add(200*time.Millisecond)); got != "h:x~2" {
		t.Errorf("the newcomer gave the second line %q, want h:x~2", got)
	}
	if got := r.mint("h:x", "a", early, now.Add(210*time.Millisecond)); got != "h:x~2" {
		t.Errorf("the old hand gave the second line %q, want h:x~2", got)
	}
	// c was there all along but reads both lines only now.
	for _, want := range []network.MessageID{"h:x", "h:x~2"} {
		if got := r.mint("h:x", "c", early, now.Add(300*time.Millisecond)); got != want {
			t.Errorf("the late reader minted %q, want %q", got, want)
		}
	}
}

// TestRepeatCounterForgets: counts are dropped once their ID has not been
// seen for repeatKeep, so a long-lived connection holds only recent ones,
// and a line said again much later starts from its plain ID.
func TestRepeatCounterForgets(t *testing.T) {
	var r repeatCounter
	now := time.Date(2026, 11, 28, 1, 0, 0, 0, time.UTC)
	r.mint("h:a", "a", time.Time{}, now)
	r.mint("h:b", "a", time.Time{}, now)
	later := now.Add(repeatKeep + messageWindow)
	if got := r.mint("h:a", "a", time.Time{}, later); got != "h:a" {
		t.Errorf("a line long after the first got %q, want h:a", got)
	}
	if held := r.held(); len(held) != 1 || held["h:a"] == nil {
		t.Errorf("after repeatKeep the counter holds %v, want only h:a", held)
	}
}

// held is every count the counter holds, of all its shards.
func (r *repeatCounter) held() map[network.MessageID]*repeatSeen {
	out := make(map[network.MessageID]*repeatSeen)
	for i := range r.shards {
		sh := &r.shards[i]
		sh.mu.Lock()
		maps.Copy(out, sh.seen)
		sh.mu.Unlock()
	}
	return out
}

// TestRepeatCounterUntimed: without server-time, two logins that read a
// line on either side of a window's edge give it the first reader's ID;
// the same line said again gets an ID of its own.
func TestRepeatCounterUntimed(t *testing.T) {
	edge := time.Date(2026, 11, 28, 1, 0, 0, 0, time.UTC).Truncate(messageWindow).Add(messageWindow)
	idAt := func(read time.Time) network.MessageID {
		return messageID("net", "rfc1459", "#c", "bob", "hi", "", time.Time{}, false, read)
	}
	var r repeatCounter
	a := r.mintUntimed("k", idAt, "a", time.Time{}, edge.Add(-time.Millisecond))
	b := r.mintUntimed("k", idAt, "b", time.Time{}, edge.Add(time.Millisecond))
	if a != b || a != idAt(edge.Add(-time.Millisecond)) {
		t.Errorf("the logins minted %q and %q, want both %q", a, b, idAt(edge.Add(-time.Millisecond)))
	}
	again := r.mintUntimed("k", idAt, "b", time.Time{}, edge.Add(500*time.Millisecond))
	if again == a || again != r.mintUntimed("k", idAt, "a", time.Time{}, edge.Add(600*time.Millisecond)) {
		t.Errorf("the line said again got %q, want one ID of its own on both logins", again)
	}
}
