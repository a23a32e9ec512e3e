package bridge_test

import (
	"context"
	"testing"
	"time"

	"github.com/ferrybridge/ferry/bridge/network"
)

// A network hands an event over again when its handler stopped waiting
// for it (WhatsApp redelivers it), while the first copy may still be
// queued in the portal, behind what came after it. A reaction's copy was
// taken as new: a reaction changed meanwhile (WhatsApp has one per
// person) was replaced by the older one again, and a reaction given again
// after a removal was removed by the removal's copy. The room then showed
// what the chat no longer did, without a word. A copy of a reaction or a
// removal bridged already is a no-op now.

// handOverWhileBusy keeps the portal busy while hand-overs queue behind
// it in the order given (the first one's network leaves, as WhatsApp's
// handler does, the others wait), then lets it go and waits for them.
func handOverWhileBusy(t *testing.T, s *scene, first network.Event, then ...network.Event) {
	t.Helper()
	ctx := s.h.Context(2 * time.Minute)
	p, err := s.h.Bridge.Portals.Get(ctx, s.portal)
	if err != nil {
		t.Fatal(err)
	}
	started, gate := make(chan struct{}), make(chan struct{})
	busy := make(chan error, 1)
	go func() {
		busy <- s.h.Bridge.Portals.Do(ctx, p, func(context.Context) error {
			close(started)
			<-gate
			return nil
		})
	}()
	<-started
	handOverAndLeave(t, s, first)
	results := make([]chan error, len(then))
	for i, evt := range then {
		results[i] = make(chan error, 1)
		go func() { results[i] <- s.cl.Handle(ctx, evt) }()
		time.Sleep(300 * time.Millisecond) // queued in this order
	}
	close(gate)
	if err = <-busy; err != nil {
		t.Fatal(err)
	}
	for _, r := range results {
		if err = <-r; err != nil {
			t.Fatalf("a hand-over failed: %v", err)
		}
	}
}

func TestReactionHandedOverAgainDoesNotUndoALaterChange(t *testing.T) {
	s := newScene(t, false)
	s.openPortal(t, "react to me")
	ctx := s.h.Context(time.Minute)
	at := time.Now().Truncate(time.Second) // WhatsApp's times are whole seconds
	react := func(key string, ts time.Time) *network.Reaction {
		return &network.Reaction{Meta: network.Meta{Portal: s.portal, Sender: network.Sender{User: "bob"}, Timestamp: ts},
			Target: network.MessageRef{ID: "m0"}, Key: key}
	}
	handOverWhileBusy(t, s, react("👍", at), react("❤️", at.Add(2*time.Second)), react("👍", at))
	row, err := s.h.Bridge.DB.Reactions.Get(ctx, s.portal, "m0", "bob", "")
	if err != nil {
		t.Fatal(err)
	}
	if row == nil || row.Key != "❤️" {
		t.Errorf("bob's reaction is stored as %+v; want ❤️, the one he changed it to", row)
	}
}

func TestReactionRemovalHandedOverAgainDoesNotRemoveALaterReaction(t *testing.T) {
	s := newScene(t, false)
	s.openPortal(t, "react to me")
	ctx := s.h.Context(time.Minute)
	at := time.Now().Truncate(time.Second)
	meta := func(ts time.Time) network.Meta {
		return network.Meta{Portal: s.portal, Sender: network.Sender{User: "bob"}, Timestamp: ts}
	}
	if err := s.cl.Handle(ctx, &network.Reaction{Meta: meta(at), Target: network.MessageRef{ID: "m0"}, Key: "👍"}); err != nil {
		t.Fatal(err)
	}
	remove := func() *network.ReactionRemove {
		return &network.ReactionRemove{Meta: meta(at.Add(time.Second)), Target: network.MessageRef{ID: "m0"}}
	}
	again := &network.Reaction{Meta: meta(at.Add(2 * time.Second)), Target: network.MessageRef{ID: "m0"}, Key: "👍"}
	handOverWhileBusy(t, s, remove(), again, remove())
	row, err := s.h.Bridge.DB.Reactions.Get(ctx, s.portal, "m0", "bob", "")
	if err != nil {
		t.Fatal(err)
	}
	if row == nil {
		t.Error("bob's reaction given again is gone: the copy of the earlier removal removed it")
	}
}

// TestMessageHandedOverAgainAfterItsDeletionStaysDeleted: a message's
// copy is recognised by its mapping, but the deletion for everyone that
// followed the message removed the mapping, and the copy queued behind
// the deletion sent the deleted message into the room again.
func TestMessageHandedOverAgainAfterItsDeletionStaysDeleted(t *testing.T) {
	s := newScene(t, false)
	s.openPortal(t, "before")
	ctx := s.h.Context(time.Minute)
	at := time.Now()
	msg := func() *network.Message { return textMessage(s.portal, "m1", "bob", at, "sent by mistake") }
	deletion := &network.Redaction{Meta: network.Meta{Portal: s.portal, Sender: network.Sender{User: "bob"}, Timestamp: at.Add(time.Second)}, Target: "m1"}
	handOverWhileBusy(t, s, msg(), deletion, msg())
	parts, err := s.h.Bridge.DB.Messages.GetParts(ctx, s.portal, "m1")
	if err != nil {
		t.Fatal(err)
	}
	if len(parts) != 0 {
		t.Errorf("the message deleted for everyone is in the room again (%s): its copy was bridged after the deletion", parts[0].EventID)
	}
}
