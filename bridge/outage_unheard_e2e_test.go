package bridge_test

import (
	"context"
	"errors"
	"io"
	"strings"
	"testing"
	"time"

	"maunium.net/go/mautrix/event"

	"github.com/ferrybridge/ferry/bridge/network"
	"github.com/ferrybridge/ferry/internal/testbed"
)

// handOverAndLeave hands evt over as WhatsApp does (HandleEvent), and
// stops waiting before the portal is done with it, as WhatsApp's handler
// does when its time runs out.
func handOverAndLeave(t *testing.T, s *scene, evt network.Event) {
	t.Helper()
	ctx, cancel := context.WithTimeout(s.h.Context(time.Minute), 200*time.Millisecond)
	defer cancel()
	if err := s.cl.Handle(ctx, evt); !errors.Is(err, network.ErrStillQueued) {
		t.Fatalf("the network heard %v, want that the event is still queued", err)
	}
}

// TestEventItsNetworkStoppedWaitingForIsKeptOrReported: an event a
// network waits for (HandleEvent) is not stored; if the homeserver cannot
// take it, its network hears so and delivers it again. A network that had
// stopped waiting heard nothing, and WhatsApp, on its last attempt, gives
// such an event up without a word, trusting the core. The core keeps it
// then, stored as an event of the durable path is, and bridges it once
// the homeserver is back; one it cannot store (media fetched lazily) is
// lost, and the room hears of it once the homeserver is back.
func TestEventItsNetworkStoppedWaitingForIsKeptOrReported(t *testing.T) {
	withResumeAfterOutage(t, 300*time.Millisecond)
	s := newScene(t, true)
	room := openIdlePortal(t, s)
	s.h.Bridge.Matrix.RetryFor = time.Second
	s.proxy.Down(testbed.Outage502)
	handOverAndLeave(t, s, textMessage(s.portal, "u0", "bob", time.Now(), "unheard 0"))
	// Long past RetryFor: the send has been given up.
	time.Sleep(3 * time.Second)
	s.proxy.Up()
	s.alice.WaitForEvent(t, room, waitLong, bodyIs(s.bob, "unheard 0"))

	s.proxy.Down(testbed.Outage502)
	handOverAndLeave(t, s, &network.Message{
		Meta: network.Meta{Portal: s.portal, Sender: network.Sender{User: "bob"}, Timestamp: time.Now()},
		ID:   "u1",
		Parts: []network.Part{{
			Content: &event.MessageEventContent{MsgType: event.MsgFile, Body: "notes.txt"},
			Media: func(context.Context) (*network.Media, error) {
				return &network.Media{Data: io.NopCloser(strings.NewReader("notes")), MimeType: "text/plain", FileName: "notes.txt", Size: 5}, nil
			},
		}},
	})
	time.Sleep(3 * time.Second)
	s.proxy.Up()
	notice := s.h.WaitForBotNotice(s.alice, room, "not bridged")
	if body := notice.Content.AsMessage().Body; !strings.Contains(body, "A message from Testnet was not bridged: Matrix could not be reached") {
		t.Errorf("notice %q does not say that a message was lost in the outage", body)
	}
}

// TestEventHandedOverAgainIsNotReportedLost: WhatsApp hands a message
// over again when it stopped waiting for it. The first hand-over, given
// up in the outage, is not lost when the second one bridges the message
// once the homeserver is back: the room gets the message, and no notice
// that it was lost.
func TestEventHandedOverAgainIsNotReportedLost(t *testing.T) {
	// The report of the first loss is due well after the second
	// hand-over has been bridged.
	withResumeAfterOutage(t, 3*time.Second)
	s := newScene(t, true)
	room := openIdlePortal(t, s)
	s.h.Bridge.Matrix.RetryFor = time.Second
	s.proxy.Down(testbed.Outage502)
	sent := time.Now()
	handOverAndLeave(t, s, textMessage(s.portal, "u1", "bob", sent, "handed over twice"))
	// Past RetryFor: the first hand-over has been given up.
	time.Sleep(2500 * time.Millisecond)
	s.proxy.Up()
	if err := s.cl.Handle(s.h.Context(time.Minute), textMessage(s.portal, "u1", "bob", sent, "handed over twice")); err != nil {
		t.Fatalf("the second hand-over failed: %v", err)
	}
	s.alice.WaitForEvent(t, room, waitLong, bodyIs(s.bob, "handed over twice"))
	// Past the time the report of the first loss was due.
	time.Sleep(3 * time.Second)
	if err := s.cl.Handle(s.h.Context(time.Minute), textMessage(s.portal, "marker", "bob", time.Now(), "marker")); err != nil {
		t.Fatal(err)
	}
	s.alice.WaitForEvent(t, room, waitLong, bodyIs(s.bob, "marker"))
	copies := 0
	for _, evt := range s.alice.Events(room) {
		if msg := evt.Content.AsMessage(); evt.Sender == s.h.BotMXID && msg != nil && strings.Contains(msg.Body, "not bridged") {
			t.Errorf("the room was told %q, though the message was bridged by its second hand-over", msg.Body)
		}
		if bodyIs(s.bob, "handed over twice")(evt) {
			copies++
		}
	}
	if copies != 1 {
		// The first hand-over is kept in the store (its network had left)
		// and the second stored behind it: one of them is bridged.
		t.Errorf("the message handed over twice is in the room %d times, want once", copies)
	}
}
