package bridge_test

import (
	"context"
	"testing"
	"time"

	"maunium.net/go/mautrix/id"

	"github.com/ferrybridge/ferry/bridge/network"
	"github.com/ferrybridge/ferry/internal/ferrytest"
)

// TestMatrixMessageWaitingAtStopIsBridgedAfterTheRestart: Ferry stops its
// networks before its portals. A Matrix message still waiting in its
// portal then is not sent into the closed connections, where it failed
// and was reported as not bridged: it stays stored, and the next start
// bridges it.
func TestMatrixMessageWaitingAtStopIsBridgedAfterTheRestart(t *testing.T) {
	s := newScene(t, false)
	room := s.openPortal(t, "hello")
	ctx := s.h.Context(waitLong)
	portal, err := s.h.Bridge.Portals.ByRoom(ctx, room)
	if err != nil || portal == nil {
		t.Fatalf("portal of %s: %v, %v", room, portal, err)
	}
	busy, release := make(chan struct{}), make(chan struct{})
	go s.h.Bridge.Portals.Do(ctx, portal, func(context.Context) error {
		close(busy)
		<-release
		return nil
	})
	<-busy
	waiting := s.alice.SendText(t, room, "waiting at the stop")
	waitStored(t, s.h, waiting)

	// The portal is let go once the network is down, and has time to
	// take the message before the bridge cancels its portals.
	s.tn.OnStop = func() {
		close(release)
		time.Sleep(300 * time.Millisecond)
	}
	s.h.StopBridge()
	s.tn.OnStop = nil
	s.h.StartBridge()
	if got := expectOut[*network.OutgoingMessage](t, s.cl).Content.Body; got != "waiting at the stop" {
		t.Errorf("the network got %q after the restart, want the waiting message", got)
	}
	for _, evt := range s.alice.Events(room) {
		if msg := evt.Content.AsMessage(); evt.Sender == s.h.BotMXID && msg != nil && msg.RelatesTo.GetReplyTo() == waiting {
			t.Errorf("the message was reported: %q", msg.Body)
		}
	}
}

// waitStored waits until evt is in Ferry's store of Matrix events.
func waitStored(t *testing.T, h *ferrytest.Harness, evt id.EventID) {
	t.Helper()
	ctx := h.Context(waitLong)
	for deadline := time.Now().Add(waitLong); ; time.Sleep(20 * time.Millisecond) {
		var n int
		if err := h.Bridge.DB.QueryRow(ctx, `SELECT COUNT(*) FROM matrix_event WHERE event_id = $1`, evt).Scan(&n); err != nil {
			t.Fatal(err)
		}
		if n == 1 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s was never stored", evt)
		}
	}
}
