package whatsapp

import (
	"strings"
	"testing"
	"time"

	"go.mau.fi/whatsmeow/proto/waCommon"
	"go.mau.fi/whatsmeow/proto/waE2E"
	"google.golang.org/protobuf/proto"
	"maunium.net/go/mautrix/event"
)

// TestE2EEditGivenUpButQueuedGetsNoNotice: an edit whose three
// deliveries all time out while the portal is busy with a slow send stays
// queued in the core, which bridges it once the send is done. The user
// must not be told in the management room that it could not be bridged:
// it is in the room.
func TestE2EEditGivenUpButQueuedGetsNoNotice(t *testing.T) {
	s, proxy, bob := givenUpSetup(t)
	ts := time.Now().Add(-time.Minute).Truncate(time.Second)
	receive(s.cl.cli, bob.stanza(t, "M0", ts, &waE2E.Message{Conversation: proto.String("before")}))
	room := joinPortal(t, s.alice, s.mgmt)
	ghost := ghostOf(bobPN.User)
	waitBridged(t, s.h, s.alice.WaitForEvent(t, room, 30*time.Second, saysText(ghost, "before")))

	// The next message's send takes longer than the edit's three
	// deliveries, each cut off by handleTimeout, so the edit waits in
	// the portal's queue behind it all along.
	proxy.DelayNext("PUT /_matrix/client/v3/rooms/", 1, 5*handleTimeout)
	receive(s.cl.cli, bob.stanza(t, "M1", ts.Add(time.Second), &waE2E.Message{Conversation: proto.String("slow")}))
	key := &waCommon.MessageKey{RemoteJID: proto.String(bobPN.String()), ID: proto.String("M0")}
	edit := bob.stanza(t, "E1", ts.Add(2*time.Second), &waE2E.Message{ProtocolMessage: &waE2E.ProtocolMessage{
		Type: waE2E.ProtocolMessage_MESSAGE_EDIT.Enum(), Key: key, EditedMessage: &waE2E.Message{Conversation: proto.String("edited")},
	}})
	for attempt := 1; attempt <= maxAttempts; attempt++ {
		receive(s.cl.cli, edit)
	}

	s.alice.WaitForEvent(t, room, 60*time.Second, func(evt *event.Event) bool {
		msg := evt.Content.AsMessage()
		return evt.Sender == ghost && msg != nil && msg.NewContent != nil && msg.NewContent.Body == "edited"
	})
	// The notice, were it sent, is sent at the third delivery, well
	// before the edit could be bridged; a moment more covers its way.
	time.Sleep(time.Second)
	for _, evt := range s.alice.Events(s.mgmt) {
		if msg := evt.Content.AsMessage(); msg != nil && strings.Contains(msg.Body, "could not bridge an edit") {
			t.Errorf("the management room says %q of an edit that was bridged", msg.Body)
		}
	}
}
