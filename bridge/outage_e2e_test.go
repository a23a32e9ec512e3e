package bridge_test

import (
	"testing"
	"time"

	"github.com/ferrybridge/ferry/bridge/network"
	"github.com/ferrybridge/ferry/internal/testbed"
	"github.com/ferrybridge/ferry/portals"
)

// withResumeAfterOutage sets portals.ResumeAfterOutage for one test.
func withResumeAfterOutage(t *testing.T, d time.Duration) {
	old := portals.ResumeAfterOutage
	portals.ResumeAfterOutage = d
	t.Cleanup(func() { portals.ResumeAfterOutage = old })
}

// TestEventOutlastingRetriesIsKept: remote events whose sends are given
// up because the homeserver stays unreachable longer than RetryFor are
// not lost: they stay queued and arrive, in order, once it is back. One
// goes through the room's pipeline, the reply (which waits for its
// target) through the ordinary retries.
func TestEventOutlastingRetriesIsKept(t *testing.T) {
	withResumeAfterOutage(t, 300*time.Millisecond)
	s := newScene(t, true)
	room := s.openPortal(t, "before")
	// Read by the portal's goroutine only after the events below are
	// handed over, which orders the write before it.
	s.h.Bridge.Matrix.RetryFor = time.Second
	s.proxy.Down(testbed.Outage502)
	s.cl.Queue(textMessage(s.portal, "k0", "bob", time.Now(), "kept 0"))
	reply := textMessage(s.portal, "k1", "bob", time.Now(), "kept 1")
	reply.ReplyTo = &network.MessageRef{ID: "m0"}
	s.cl.Queue(reply)
	// Long past RetryFor: the first send has been given up at least once.
	time.Sleep(4 * time.Second)
	s.proxy.Up()
	assertInOrder(t, s.alice, room, s.bob, "kept", 2)
}
