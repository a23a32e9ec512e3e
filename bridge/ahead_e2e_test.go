package bridge_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"maunium.net/go/mautrix/event"
	"maunium.net/go/mautrix/id"

	"github.com/ferrybridge/ferry/bridge/network"
)

// TestMatrixMessagesGoAheadOfConfirmations: with a network that confirms
// sends later (as IRC does with its echo), a room's messages reach the
// network one after the other without waiting for the confirmations; a
// message that depends on an unconfirmed one (an edit) waits for it; a
// confirmation that fails is reported in the room.
func TestMatrixMessagesGoAheadOfConfirmations(t *testing.T) {
	sc := newScene(t, false)
	h, alice, cl := sc.h, sc.alice, sc.cl
	room := sc.openPortal(t, "open the room")

	release := map[string]chan error{}
	for _, body := range []string{"ahead 0", "ahead 1", "ahead 2"} {
		release[body] = make(chan error, 1)
	}
	confirm := func(ctx context.Context, msg *network.OutgoingMessage) error {
		ch, ok := release[msg.Content.Body]
		if !ok {
			return nil
		}
		select {
		case err := <-ch:
			return err
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	cl.Confirm.Store(&confirm)

	var events []id.EventID
	for i := range 3 {
		events = append(events, alice.SendText(t, room, fmt.Sprintf("ahead %d", i)))
	}
	// All three reach the network while none is confirmed.
	for i := range 3 {
		if got := expectOut[*network.OutgoingMessage](t, cl); got.Content.Body != fmt.Sprintf("ahead %d", i) {
			t.Fatalf("message %d reached the network as %q", i, got.Content.Body)
		}
	}
	release["ahead 0"] <- nil
	release["ahead 1"] <- network.UserErrorf("the server refused it")

	// The edit of the unconfirmed third message waits for its confirmation:
	// only then is its remote ID known.
	edit := &event.MessageEventContent{MsgType: event.MsgText, Body: "* ahead 2, edited"}
	edit.SetEdit(events[2])
	edit.NewContent = &event.MessageEventContent{MsgType: event.MsgText, Body: "ahead 2, edited"}
	if _, err := alice.SendMessageEvent(h.Context(time.Minute), room, event.EventMessage, edit); err != nil {
		t.Fatal(err)
	}
	select {
	case out := <-cl.Outbox:
		t.Fatalf("%T reached the network before the message it edits was confirmed", out)
	case <-time.After(time.Second):
	}
	release["ahead 2"] <- nil
	got := expectOut[*network.OutgoingEdit](t, cl)
	if got.Content.Body != "ahead 2, edited" || !strings.HasPrefix(string(got.Target.ID), "sent-alice-") {
		t.Errorf("the edit reached the network as %q for %q", got.Content.Body, got.Target.ID)
	}

	notice := h.WaitForBotNotice(alice, room, "the server refused it")
	if notice.Content.AsMessage().RelatesTo.GetReplyTo() != events[1] {
		t.Errorf("the failure notice answers %s, want the refused message %s", notice.Content.AsMessage().RelatesTo.GetReplyTo(), events[1])
	}
}

// TestRemoteBurstArrivesInOrder: a burst of remote messages, sent ahead
// through the room's pipeline to Dendrite, arrives complete and in order,
// and every message's mapping is stored (a reaction to one finds it).
func TestRemoteBurstArrivesInOrder(t *testing.T) {
	sc := newScene(t, false)
	ctx := sc.h.Context(2 * time.Minute)
	room := sc.openPortal(t, "before")
	const n = 100
	for i := range n {
		sc.cl.Queue(textMessage(sc.portal, network.MessageID(fmt.Sprintf("p%d", i)), "bob", time.Now(), fmt.Sprintf("burst %d", i)))
	}
	assertInOrder(t, sc.alice, room, sc.bob, "burst", n)
	target := sc.alice.WaitForEvent(t, room, waitLong, bodyIs(sc.bob, "burst 50"))
	err := sc.cl.Handle(ctx, &network.Reaction{
		Meta:   network.Meta{Portal: sc.portal, Sender: network.Sender{User: "bob"}, Timestamp: time.Now()},
		Target: network.MessageRef{ID: "p50"}, Emoji: "👍", Key: "👍",
	})
	if err != nil {
		t.Fatal(err)
	}
	sc.alice.WaitForEvent(t, room, waitLong, func(evt *event.Event) bool {
		r := evt.Content.AsReaction()
		return evt.Type == event.EventReaction && r != nil && r.RelatesTo.EventID == target.ID
	})
}
