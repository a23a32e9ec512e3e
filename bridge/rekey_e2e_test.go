package bridge_test

import (
	"errors"
	"testing"
	"time"

	"maunium.net/go/mautrix/event"
	"maunium.net/go/mautrix/id"

	"github.com/ferrybridge/ferry/bridge/network"
	"github.com/ferrybridge/ferry/internal/testnet"
)

// TestPortalRekey: a network moves a portal to a better key; the room
// stays and answers to the new key: new messages land in it, reactions
// find old messages, the m.bridge state names the new chat. A move onto a
// key that has a room of its own is refused.
func TestPortalRekey(t *testing.T) {
	sc := newScene(t, false)
	h, alice, cl, bob := sc.h, sc.alice, sc.cl, sc.bob
	ctx := h.Context(2 * time.Minute)
	room := sc.openPortal(t, "hello")
	first := alice.WaitForEvent(t, room, waitLong, bodyIs(bob, "hello"))
	host := sc.tn.Host()
	better := network.PortalKey{Network: testnet.ID, Chat: "chat1-better", Receiver: "alice"}

	if moved, err := host.RekeyPortal(ctx, sc.portal, better); err != nil || !moved {
		t.Fatalf("RekeyPortal: moved %v, %v", moved, err)
	}
	if err := cl.Handle(ctx, textMessage(better, "m1", "bob", time.Now(), "after the move")); err != nil {
		t.Fatal(err)
	}
	alice.WaitForEvent(t, room, waitLong, bodyIs(bob, "after the move"))
	if err := cl.Handle(ctx, &network.Reaction{
		Meta:   network.Meta{Portal: better, Sender: network.Sender{User: "bob"}, Timestamp: time.Now()},
		Target: network.MessageRef{ID: "m0"}, Emoji: "👍", Key: "👍",
	}); err != nil {
		t.Fatal(err)
	}
	reaction := alice.WaitForEvent(t, room, waitLong, func(evt *event.Event) bool { return evt.Type == event.EventReaction })
	if reaction.Content.AsReaction().RelatesTo.EventID != first.ID {
		t.Errorf("a reaction under the new key points at %s, want the message from before the move", reaction.Content.AsReaction().RelatesTo.EventID)
	}
	var info event.BridgeEventContent
	if err := alice.StateEvent(ctx, room, event.StateBridge, "ferry://test/chat1-better", &info); err != nil || info.Channel.ID != "chat1-better" {
		t.Errorf("m.bridge under the new key: %+v, %v", info, err)
	}
	var old map[string]any
	if err := alice.StateEvent(ctx, room, event.StateBridge, "ferry://test/chat1", &old); err != nil || len(old) != 0 {
		t.Errorf("m.bridge under the old key still says %v (%v)", old, err)
	}

	// The old key is free again: a message there makes a new room.
	if err := cl.Handle(ctx, textMessage(sc.portal, "n1", "bob", time.Now(), "a new chat under the old key")); err != nil {
		t.Fatal(err)
	}
	alice.WaitForInvite(t, waitLong, func(r id.RoomID, state []*event.Event) bool {
		return r != room && r != sc.mgmt && !isSpace(state)
	})
	// Now both keys have rooms: a move is refused.
	if _, err := host.RekeyPortal(ctx, sc.portal, better); !errors.Is(err, network.ErrPortalExists) {
		t.Errorf("moving onto a key with a room: err = %v, want ErrPortalExists", err)
	}
	// A key nothing was ever made for moves nothing, without error.
	if moved, err := host.RekeyPortal(ctx, network.PortalKey{Network: testnet.ID, Chat: "never", Receiver: "alice"}, better); err != nil || moved {
		t.Errorf("moving a portal that does not exist: moved %v, %v", moved, err)
	}
}
