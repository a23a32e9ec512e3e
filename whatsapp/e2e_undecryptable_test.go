package whatsapp

import (
	"testing"
	"time"

	"go.mau.fi/whatsmeow/proto/waE2E"
	"google.golang.org/protobuf/proto"
	"maunium.net/go/mautrix/event"

	"github.com/ferrybridge/ferry/internal/ferrytest"
)

// TestE2EUndecryptableMessageIsReplacedOnRetry: a message whose
// ciphertext does not decrypt shows in the room as a notice saying it is
// on its way; when the sender's phone encrypts it again (answering
// whatsmeow's retry receipt) the notice is edited into the message.
//
// Both stanzas are real Signal ciphertext from a second whatsmeow device;
// the first has its authentication code broken, as a message encrypted
// with a session the receiver no longer has would fail. The resend is what
// the sender's phone does on a retry receipt; only a real phone can show
// that it does.
func TestE2EUndecryptableMessageIsReplacedOnRetry(t *testing.T) {
	s := startStoredLogin(t, New(), ferrytest.Options{})
	alice, mgmt, cl := s.alice, s.mgmt, s.cl
	bob := newSender(t, bobPN, s.device)
	ts := time.Now().Add(-time.Minute).Truncate(time.Second)
	text := func(s string) *waE2E.Message { return &waE2E.Message{Conversation: proto.String(s)} }

	receive(cl.cli, bob.stanza(t, "M0", ts, text("before")))
	room := joinPortal(t, alice, mgmt)
	ghost := ghostOf(bobPN.User)
	alice.WaitForEvent(t, room, 30*time.Second, saysText(ghost, "before"))

	broken := bob.stanza(t, "M1", ts.Add(time.Second), text("the secret"))
	enc := broken.GetChildren()[0]
	ciphertext := enc.Content.([]byte)
	ciphertext[len(ciphertext)-1] ^= 0xff // the MAC no longer matches
	receive(cl.cli, broken)
	notice := alice.WaitForEvent(t, room, 30*time.Second, func(evt *event.Event) bool {
		msg := evt.Content.AsMessage()
		return evt.Sender == ghost && msg != nil && msg.MsgType == event.MsgNotice && msg.Body == waitingText
	})
	if notice.Timestamp != ts.Add(time.Second).UnixMilli() {
		t.Errorf("the placeholder has timestamp %d, want the message's %d", notice.Timestamp, ts.Add(time.Second).UnixMilli())
	}

	receive(cl.cli, bob.stanza(t, "M1", ts.Add(time.Second), text("the secret"))) // the resend
	edit := alice.WaitForEvent(t, room, 30*time.Second, func(evt *event.Event) bool {
		msg := evt.Content.AsMessage()
		return evt.Sender == ghost && msg != nil && msg.RelatesTo != nil && msg.RelatesTo.GetReplaceID() == notice.ID
	}).Content.AsMessage()
	if edit.NewContent == nil || edit.NewContent.Body != "the secret" || edit.NewContent.MsgType != event.MsgText {
		t.Errorf("the placeholder was replaced by %+v, want the text", edit.NewContent)
	}
}
