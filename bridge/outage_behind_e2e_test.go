package bridge_test

import (
	"testing"
	"time"

	"github.com/ferrybridge/ferry/internal/testbed"
)

// TestUnstoredEventOutlastingRetriesIsKept: an event handed to its idle
// portal unstored (StoreBehind) and given up because the homeserver
// stays unreachable is stored then, not dropped, and arrives once the
// homeserver is back.
func TestUnstoredEventOutlastingRetriesIsKept(t *testing.T) {
	withStoreBehind(t, time.Hour)
	withResumeAfterOutage(t, 300*time.Millisecond)
	s := newScene(t, true)
	room := openIdlePortal(t, s)
	s.h.Bridge.Matrix.RetryFor = time.Second
	stored := recordStores(t, s)
	s.proxy.Down(testbed.Outage502)
	s.cl.Queue(textMessage(s.portal, "u0", "bob", time.Now(), "unstored 0"))
	time.Sleep(4 * time.Second)
	if !stored()["u0"] {
		t.Error("the message given up was not stored")
	}
	s.proxy.Up()
	assertInOrder(t, s.alice, room, s.bob, "unstored", 1)
	waitQueueEmpty(t, s)
}
