package bridge_test

import (
	"fmt"
	"testing"
	"time"

	"maunium.net/go/mautrix/event"

	"github.com/ferrybridge/ferry/bridge/network"
	"github.com/ferrybridge/ferry/internal/testbed"
	"github.com/ferrybridge/ferry/portals"
)

// TestReactionGivenAgainAppears: a reaction removed and given again is a
// new event. Its transaction ID was the same both times, so the
// homeserver answered with the first, redacted event, nothing appeared,
// and the redacted event was stored as the reaction.
func TestReactionGivenAgainAppears(t *testing.T) {
	s := newScene(t, false)
	room := s.openPortal(t, "react to me")
	ctx := s.h.Context(time.Minute)
	target := s.alice.WaitForEvent(t, room, waitLong, bodyIs(s.bob, "react to me"))
	meta := network.Meta{Portal: s.portal, Sender: network.Sender{User: "bob"}, Timestamp: time.Now()}
	react := &network.Reaction{Meta: meta, Target: network.MessageRef{ID: "m0"}, Emoji: "👍", Key: "👍"}
	if err := s.cl.Handle(ctx, react); err != nil {
		t.Fatal(err)
	}
	isReaction := func(evt *event.Event) bool {
		if evt.Sender != s.bob || evt.Type != event.EventReaction {
			return false
		}
		r := evt.Content.AsReaction()
		return r.RelatesTo.EventID == target.ID && r.RelatesTo.Key == "👍"
	}
	first := s.alice.WaitForEvent(t, room, waitLong, isReaction)
	if err := s.cl.Handle(ctx, &network.ReactionRemove{Meta: meta, Target: network.MessageRef{ID: "m0"}, Emoji: "👍"}); err != nil {
		t.Fatal(err)
	}
	s.alice.WaitForEvent(t, room, waitLong, func(evt *event.Event) bool {
		return evt.Type == event.EventRedaction && evt.Redacts == first.ID
	})
	again := *react
	again.Timestamp = time.Now()
	if err := s.cl.Handle(ctx, &again); err != nil {
		t.Fatal(err)
	}
	second := s.alice.WaitForEvent(t, room, waitLong, func(evt *event.Event) bool { return isReaction(evt) && evt.ID != first.ID })
	row, err := s.h.Bridge.DB.Reactions.Get(ctx, s.portal, "m0", "bob", "👍")
	if err != nil || row == nil || row.EventID != second.ID {
		t.Errorf("the reaction is stored as %+v (%v), want the new event %s", row, err, second.ID)
	}
}

// TestNilEventsFromANetworkDoNotCrash: a network handing over a backfill
// with a nil message, or a nil pointer as an event, panicked on its own
// goroutine, outside any recover: the process ended.
func TestNilEventsFromANetworkDoNotCrash(t *testing.T) {
	s := newScene(t, false)
	room := s.openPortal(t, "before")
	for name, evt := range map[string]network.Event{
		"a backfill with a nil message": &network.Backfill{
			Meta:     network.Meta{Portal: s.portal, Sender: network.Sender{User: "bob"}, Timestamp: time.Now()},
			Messages: []*network.Message{nil},
		},
		"a nil message": (*network.Message)(nil),
	} {
		func() {
			defer func() {
				if r := recover(); r != nil {
					t.Errorf("QueueEvent panicked on %s: %v", name, r)
				}
			}()
			s.cl.Queue(evt)
		}()
	}
	if err := s.cl.Handle(s.h.Context(time.Minute), textMessage(s.portal, "m1", "bob", time.Now(), "after")); err != nil {
		t.Fatal(err)
	}
	s.alice.WaitForEvent(t, room, waitLong, bodyIs(s.bob, "after"))
}

// TestEventHandedOverDuringABacklogWaitsItsTurn: an event a network waits
// for (HandleEvent, as WhatsApp hands over messages and edits) went
// through the portal's in-memory queue, ahead of the stored backlog an
// outage had left. An edit of a message still in the backlog then found
// no target and was dropped, and acknowledged to the network. It now
// waits behind the backlog.
func TestEventHandedOverDuringABacklogWaitsItsTurn(t *testing.T) {
	s := newScene(t, true)
	room := s.openPortal(t, "before")
	s.proxy.Down(testbed.OutageRefuse)
	n := portals.QueueSize + 200 // beyond the in-memory queue and the sends in flight: a backlog
	for i := 0; i < n; i++ {
		s.cl.Queue(textMessage(s.portal, network.MessageID(fmt.Sprintf("q%d", i)), "bob", time.Now(), fmt.Sprintf("queued %d", i)))
	}
	last := network.MessageID(fmt.Sprintf("q%d", n-1))
	done := make(chan error, 1)
	go func() {
		done <- s.cl.Handle(s.h.Context(2*time.Minute), &network.Edit{
			Meta:   network.Meta{Portal: s.portal, Sender: network.Sender{User: "bob"}, Timestamp: time.Now()},
			Target: last,
			Parts:  []network.Part{{Content: &event.MessageEventContent{MsgType: event.MsgText, Body: "last, edited"}}},
		})
	}()
	time.Sleep(500 * time.Millisecond)
	s.proxy.Up()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	assertInOrder(t, s.alice, room, s.bob, "queued", n)
	if err := s.cl.Handle(s.h.Context(time.Minute), textMessage(s.portal, "marker", "bob", time.Now(), "marker")); err != nil {
		t.Fatal(err)
	}
	s.alice.WaitForEvent(t, room, waitLong, bodyIs(s.bob, "marker")) // after the edit, if it came
	for _, evt := range s.alice.Events(room) {
		if msg := evt.Content.AsMessage(); evt.Sender == s.bob && msg != nil && msg.NewContent != nil && msg.NewContent.Body == "last, edited" {
			return
		}
	}
	t.Errorf("the edit of %s, handed over after it, never reached the room", last)
}
