package whatsapp

import (
	"strings"
	"testing"
	"time"

	"go.mau.fi/whatsmeow/proto/waE2E"
	"google.golang.org/protobuf/proto"
	"maunium.net/go/mautrix/event"
)

// TestSimEditFromMatrixSeenByAnotherLogin: Alice and Dave both use Ferry
// with their WhatsApp accounts, and both are in Bob's group. Alice's edit
// from Matrix reaches Dave's login too, as any group member's edit; the
// room shows it once, Alice's own, not a second time from Dave's login.
func TestSimEditFromMatrixSeenByAnotherLogin(t *testing.T) {
	s, ctx := newSharedGroup(t, 3*time.Minute, "Climbing", "Saturday at ten?")
	room, bob, group := s.room, s.bob, s.group

	sent := s.alice.SendText(t, room, "count me ni")
	if got := nextMessage(t, bob); got.Message.GetConversation()+got.Message.GetExtendedTextMessage().GetText() != "count me ni" {
		t.Fatalf("Bob got %v", got.Message)
	}
	edit := &event.MessageEventContent{MsgType: event.MsgText, Body: "* count me in",
		NewContent: &event.MessageEventContent{MsgType: event.MsgText, Body: "count me in"}}
	edit.RelatesTo = (&event.RelatesTo{}).SetReplace(sent)
	editResp, err := s.alice.SendMessageEvent(ctx, room, event.EventMessage, edit)
	if err != nil {
		t.Fatal(err)
	}
	if got := nextMessage(t, bob); got.Message.GetProtocolMessage().GetType() != waE2E.ProtocolMessage_MESSAGE_EDIT {
		t.Fatalf("Bob got %v, want Alice's edit", got.Message)
	}
	// Dave's login has the edit by the time Bob's next message comes.
	if _, err = bob.cli.SendMessage(ctx, group.JID, &waE2E.Message{Conversation: proto.String("great")}); err != nil {
		t.Fatal(err)
	}
	s.alice.WaitForEvent(t, room, simWait, saysText(s.bobGhost, "great"))
	time.Sleep(2 * time.Second)
	for _, evt := range s.alice.Events(room) {
		msg := evt.Content.AsMessage()
		if evt.Type != event.EventMessage || msg == nil || evt.ID == editResp.EventID {
			continue
		}
		if strings.Contains(msg.Body, "count me in") {
			t.Errorf("the edit shows again: %s from %s: %q", evt.ID, evt.Sender, msg.Body)
		}
	}
}
