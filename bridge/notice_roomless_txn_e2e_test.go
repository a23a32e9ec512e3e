package bridge_test

import (
	"net/http"
	"testing"
	"time"

	"github.com/ferrybridge/ferry/bridge/network"
	"github.com/ferrybridge/ferry/internal/testbed"
	"github.com/ferrybridge/ferry/internal/testnet"
)

// TestHeldManagementRoomNoticeWhoseAnswerWasLostIsPostedOnce: a portal
// with no room tells alice in her management room that a message was
// not bridged. The homeserver takes the notice, but its answers are
// lost (a front proxy's 504) until Ferry gives up and holds the notice
// for after the outage; its next try posted it again, the management
// room's notices being sent under a new transaction ID each time
// (bridge.NotifyUser), and alice read it twice.
func TestHeldManagementRoomNoticeWhoseAnswerWasLostIsPostedOnce(t *testing.T) {
	withResumeAfterOutage(t, 300*time.Millisecond)
	s := newScene(t, true)
	s.openPortal(t, "before") // the login's space exists: the next createRoom is the portal's
	s.h.Bridge.Matrix.RetryFor = time.Second
	s.proxy.FailNext("POST /_matrix/client/v3/createRoom", 1, http.StatusForbidden)
	s.proxy.Inject("PUT /_matrix/client/v3/rooms/"+s.mgmt.String()+"/send/", -1, testbed.Fault{LoseAnswer: true})
	chat2 := network.PortalKey{Network: testnet.ID, Chat: "chat2", Receiver: "alice"}
	if err := s.cl.Handle(s.h.Context(time.Minute), textMessage(chat2, "r0", "carol", time.Now(), "no room for me")); err == nil {
		t.Fatal("the message was bridged though its room could not be created")
	}
	time.Sleep(2 * time.Second) // the notice's sends are given up, and it is held
	s.proxy.ClearFaults()
	s.h.WaitForBotNotice(s.alice, s.mgmt, "was not bridged")
	time.Sleep(2 * time.Second) // a second post would have come by now
	if said := botSaidSince(s.h, s.alice, s.mgmt, nil, "was not bridged"); len(said) != 1 {
		t.Errorf("alice's management room got the notice %d times, want once: %q", len(said), said)
	}
}
