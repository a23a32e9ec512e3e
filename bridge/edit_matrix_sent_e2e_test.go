package bridge_test

import (
	"testing"
	"time"

	"maunium.net/go/mautrix/event"

	"github.com/ferrybridge/ferry/bridge/network"
	"github.com/ferrybridge/ferry/internal/testnet"
)

// TestOwnEditOfAMatrixMessageFromAnotherDeviceIsShown: alice sends a
// message from Matrix, then edits it on another device of her remote
// account (WhatsApp: a FromMe edit from her phone). A replacement counts
// only from the original's sender, alice, and Ferry sends as her ghost,
// so the new text must come as something clients show: her ghost's reply
// to the message, marked as an edit; no replacement of it that every
// client ignores.
func TestOwnEditOfAMatrixMessageFromAnotherDeviceIsShown(t *testing.T) {
	s := newScene(t, false)
	room := s.openPortal(t, "before")
	orig := s.alice.SendText(t, room, "helo")
	sent := expectOut[*network.OutgoingMessage](t, s.cl)
	if sent.Content.Body != "helo" {
		t.Fatalf("the network got %q", sent.Content.Body)
	}
	ctx := s.h.Context(time.Minute)
	edit := &network.Edit{
		Meta:   network.Meta{Portal: s.portal, Sender: network.Sender{User: "alice", FromMe: true}, Timestamp: time.Now()},
		ID:     "e1",
		Target: "sent-alice-1", // testnet's ID of the first message sent
		Parts:  []network.Part{{Content: &event.MessageEventContent{MsgType: event.MsgText, Body: "hello"}}},
	}
	if err := s.cl.Handle(ctx, edit); err != nil {
		t.Fatal(err)
	}
	if err := s.cl.Handle(ctx, textMessage(s.portal, "marker", "bob", time.Now(), "marker")); err != nil {
		t.Fatal(err)
	}
	s.alice.WaitForEvent(t, room, waitLong, bodyIs(s.bob, "marker"))
	aliceGhost := s.h.Bridge.Ghosts.MXID(network.GhostKey{Network: testnet.ID, User: "alice"})
	shown := false
	for _, evt := range s.alice.Events(room) {
		msg := evt.Content.AsMessage()
		if evt.Type != event.EventMessage || msg == nil || msg.RelatesTo == nil {
			continue
		}
		if msg.RelatesTo.GetReplaceID() == orig && evt.Sender != s.alice.UserID {
			t.Errorf("alice's message is replaced by %s, not by its sender: clients ignore it", evt.Sender)
		}
		if msg.RelatesTo.GetReplyTo() == orig && evt.Sender == aliceGhost && msg.Body == "* hello" {
			shown = true
		}
	}
	if !shown {
		t.Errorf("no reply \"* hello\" from %s to alice's message in the room", aliceGhost)
	}
}
