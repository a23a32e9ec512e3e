package bridge_test

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"maunium.net/go/mautrix/event"

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

// TestRefusedRemoteEventIsReported: a remote message the homeserver
// refuses (a 4xx other than 429) is not retried or kept, and the room
// hears that it was not bridged. Both ways a message is sent are tried:
// through the room's pipeline, and (a reply) through the ordinary
// retries. The ghost is in the room, so its refused send is not tried
// again after a join (puppets/matrix_rejoin.go).
func TestRefusedRemoteEventIsReported(t *testing.T) {
	s := newScene(t, true)
	room := s.openPortal(t, "before")
	sends := "PUT /_matrix/client/v3/rooms/" + room.String() + "/send/m.room.message/"
	s.proxy.Inject(sends, 1, testbed.Fault{Status: http.StatusForbidden, Body: `{"errcode":"M_FORBIDDEN","error":"no ghosts today"}`})
	s.cl.Queue(textMessage(s.portal, "r0", "bob", time.Now(), "refused 0"))
	first := s.h.WaitForBotNotice(s.alice, room, "no ghosts today")
	s.proxy.Inject(sends, 1, testbed.Fault{Status: http.StatusForbidden, Body: `{"errcode":"M_FORBIDDEN","error":"no replies either"}`})
	reply := textMessage(s.portal, "r1", "bob", time.Now(), "refused 1")
	reply.ReplyTo = &network.MessageRef{ID: "m0"}
	s.cl.Queue(reply)
	second := s.h.WaitForBotNotice(s.alice, room, "no replies either")
	for _, notice := range []*event.Event{first, second} {
		if body := notice.Content.AsMessage().Body; !strings.Contains(body, "not bridged") {
			t.Errorf("notice %q does not say the message was not bridged", body)
		}
	}
	// Nothing waits in the queue for a retry that cannot succeed.
	waitQueueEmpty(t, s)
}
