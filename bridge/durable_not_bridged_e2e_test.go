package bridge_test

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/ferrybridge/ferry/bridge/network"
	"github.com/ferrybridge/ferry/database"
	"github.com/ferrybridge/ferry/internal/ferrytest"
)

// TestStoredEventsNotBridgedAreReported: a stored remote event that
// cannot be decoded, and one whose login has logged out, were dropped at
// the replay with a log line only. Each is now reported in the room, once
// (a second restart says nothing more), the events after them still
// arrive, and neither's text reaches the log.
func TestStoredEventsNotBridgedAreReported(t *testing.T) {
	trace := &lockedBuffer{}
	s := newSceneWith(t, false, ferrytest.Options{TraceLog: trace})
	room := s.openPortal(t, "before")
	ctx := s.h.Context(time.Minute)
	db := s.h.Bridge.DB

	// Stored while the portal is idle, so that only the next start's
	// replay reads them, in this order.
	garbled, err := json.Marshal(map[string]any{"type": "message", "event": map[string]any{
		"ID":    7, // a number where the ID is a string: it does not decode
		"Parts": []any{map[string]any{"Content": map[string]any{"msgtype": "m.text", "body": "garbled secret words"}}},
	}})
	if err != nil {
		t.Fatal(err)
	}
	gone, err := network.MarshalEvent(textMessage(s.portal, "g0", "bob", time.Now(), "gone secret words"))
	if err != nil {
		t.Fatal(err)
	}
	after, err := network.MarshalEvent(textMessage(s.portal, "a0", "bob", time.Now(), "after the two"))
	if err != nil {
		t.Fatal(err)
	}
	for _, row := range []*database.RemoteEvent{
		{Portal: s.portal, Login: "alice", Payload: garbled, ReceivedAt: time.Now()},
		{Portal: s.portal, Login: "logged-out", Payload: gone, ReceivedAt: time.Now()},
		{Portal: s.portal, Login: "alice", Payload: after, ReceivedAt: time.Now()},
	} {
		if err = db.RemoteEvents.Insert(ctx, row); err != nil {
			t.Fatal(err)
		}
	}
	s.h.StopBridge()
	s.h.StartBridge()

	s.alice.WaitForEvent(t, room, waitLong, bodyIs(s.bob, "after the two"))
	notices := func() (unreadable, loggedOut int) {
		for _, evt := range s.alice.Events(room) {
			msg := evt.Content.AsMessage()
			if evt.Sender != s.h.BotMXID || msg == nil || !strings.Contains(msg.Body, "was not bridged") {
				continue
			}
			switch {
			case strings.Contains(msg.Body, "An event was not bridged from Testnet: Ferry could not read it back"):
				unreadable++
			case strings.Contains(msg.Body, "A message from "+s.bob.String()) && strings.Contains(msg.Body, "logged out"):
				loggedOut++
			default:
				t.Errorf("unexpected notice %q", msg.Body)
			}
		}
		return
	}
	// The notices go before the event after them: they are in.
	if u, l := notices(); u != 1 || l != 1 {
		t.Fatalf("%d notices of the unreadable event and %d of the logged-out login's, want one each", u, l)
	}
	// Given up, so forgotten: the undecodable row too.
	for deadline := time.Now().Add(waitLong); ; time.Sleep(20 * time.Millisecond) {
		rows, err := s.h.Bridge.DB.RemoteEvents.Pending(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if len(rows) == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d events still stored after the replay", len(rows))
		}
	}

	s.h.StopBridge()
	s.h.StartBridge()
	s.cl = s.tn.Client("alice")
	if err = s.cl.Handle(s.h.Context(time.Minute), textMessage(s.portal, "m1", "bob", time.Now(), "marker")); err != nil {
		t.Fatal(err)
	}
	s.alice.WaitForEvent(t, room, waitLong, bodyIs(s.bob, "marker"))
	if u, l := notices(); u != 1 || l != 1 {
		t.Errorf("after another restart: %d notices of the unreadable event and %d of the logged-out login's, want still one each", u, l)
	}
	if log := trace.String(); strings.Contains(log, "secret words") {
		t.Error("the log holds the text of an event that was not bridged")
	}
}
