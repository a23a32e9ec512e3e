package bridge_test

import (
	"strings"
	"testing"

	"maunium.net/go/mautrix/event"
	"maunium.net/go/mautrix/id"
)

// TestPanicWhileBridgingIsReportedToTheRoom: a network's bug that panics
// while it sends is a failed send like any other, reported to the sender
// as a reply, whichever way the event went: a plain message (which goes
// ahead of its outcome), a reply and a reaction (which do not).
func TestPanicWhileBridgingIsReportedToTheRoom(t *testing.T) {
	s := newScene(t, false)
	room := s.openPortal(t, "hello")
	hello := s.alice.WaitForEvent(t, room, waitLong, bodyIs(s.bob, "hello"))
	bug := "a bug in the network"
	s.cl.PanicSends.Store(&bug)
	ctx := s.h.Context(waitLong)

	plain := s.alice.SendText(t, room, "plain")
	reply := &event.MessageEventContent{MsgType: event.MsgText, Body: "a reply"}
	reply.RelatesTo = (&event.RelatesTo{}).SetReplyTo(hello.ID)
	replied, err := s.alice.SendMessageEvent(ctx, room, event.EventMessage, reply)
	if err != nil {
		t.Fatal(err)
	}
	reacted, err := s.alice.SendReaction(ctx, room, hello.ID, "👍")
	if err != nil {
		t.Fatal(err)
	}
	for what, evtID := range map[string]id.EventID{"message": plain, "reply": replied.EventID, "reaction": reacted.EventID} {
		s.alice.WaitForEvent(t, room, waitLong, func(evt *event.Event) bool {
			msg := evt.Content.AsMessage()
			return evt.Sender == s.h.BotMXID && msg != nil && msg.RelatesTo.GetReplyTo() == evtID &&
				strings.Contains(msg.Body, "was not bridged") && strings.Contains(msg.Body, "internal error")
		})
		t.Logf("the %s's failure was reported", what)
	}
}

// TestPanickingCommandIsAnswered: a command whose handler panics gets an
// answer, so that its sender does not wait for one.
func TestPanickingCommandIsAnswered(t *testing.T) {
	s := newScene(t, false)
	s.h.Command(s.alice, s.mgmt, "test panic", "That failed: an internal error")
	s.h.Command(s.alice, s.mgmt, "test ping", "pong: alice") // the bot goes on
}
