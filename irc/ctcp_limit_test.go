package irc

import (
	"testing"
	"time"
)

// TestCTCPLimitRefills: a full bucket answers ctcpBurst requests at once,
// then one per ctcpRefill; time apart never earns more than the burst.
func TestCTCPLimitRefills(t *testing.T) {
	refill := ctcpRefill.get()
	var l ctcpLimit
	now := time.Unix(1700000000, 0)
	for i := range ctcpBurst {
		if !l.allow(now) {
			t.Fatalf("request %d of a full bucket refused", i+1)
		}
	}
	if l.allow(now) {
		t.Fatal("a request beyond the burst answered")
	}
	if l.allow(now.Add(refill / 2)) {
		t.Error("answered before a reply was earned back")
	}
	if !l.allow(now.Add(refill)) {
		t.Error("refused after a reply was earned back")
	}
	if l.allow(now.Add(refill)) {
		t.Error("two answered for one earned back")
	}
	later := now.Add(100 * refill)
	for i := range ctcpBurst {
		if !l.allow(later) {
			t.Fatalf("request %d after a long quiet refused", i+1)
		}
	}
	if l.allow(later) {
		t.Error("a long quiet earned more than the burst")
	}
}
