package bridge_test

import (
	"testing"
	"time"

	"maunium.net/go/mautrix/event"

	"github.com/ferrybridge/ferry/bridge/network"
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
