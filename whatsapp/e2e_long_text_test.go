package whatsapp

import (
	"context"
	"strings"
	"testing"
	"time"

	"go.mau.fi/whatsmeow/proto/waE2E"
	"go.mau.fi/whatsmeow/types"
	"google.golang.org/protobuf/proto"
	"maunium.net/go/mautrix/event"
	"maunium.net/go/mautrix/id"
)

// longWhatsAppText is n bytes or so of WhatsApp text with bold words and
// letters beyond ASCII, each line numbered so that a cut or a repeat
// shows.
func longWhatsAppText(n int) string {
	var b strings.Builder
	for i := 0; b.Len() < n; i++ {
		b.WriteString("Zeile ")
		b.WriteString(strings.Repeat("·", i%7))
		b.WriteString(" *fett* über Ärger & <Öl> ")
		b.WriteString(time.Duration(i).String())
		b.WriteString("\n")
	}
	return b.String()
}

// fileFrom waits for a file event from sender whose file is named
// fileName, and returns its content and what it downloads as.
func fileFrom(t *testing.T, s *simScene, room id.RoomID, sender id.UserID, fileName string) (*event.MessageEventContent, *event.Event, string) {
	t.Helper()
	evt := s.alice.WaitForEvent(t, room, simWait, func(evt *event.Event) bool {
		msg := evt.Content.AsMessage()
		return evt.Sender == sender && msg != nil && msg.FileName == fileName && msg.URL != ""
	})
	msg := evt.Content.AsMessage()
	mxc, err := msg.URL.Parse()
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), simWait)
	defer cancel()
	data, err := s.alice.DownloadBytes(ctx, mxc)
	if err != nil {
		t.Fatalf("download %s: %v", fileName, err)
	}
	return msg, evt, string(data)
}

// TestSimLongTextsArriveWhole: WhatsApp takes texts far longer than a
// Matrix event. Bob's long formatted text arrives as plain text; his
// text of 150 kB arrives as a text file with all of it, the body showing
// its beginning; his edit of it, too long for a Matrix edit, arrives as
// an answer to it with the new text attached, which goes when he deletes
// the message; and a document's caption too long arrives with the
// document, the whole caption as a file beside it, which goes when Bob
// shortens the caption. Nothing is reported as not bridged.
func TestSimLongTextsArriveWhole(t *testing.T) {
	s, bob, ctx := newSimSceneWithBob(t, 3*time.Minute)
	aliceJID := s.alicePhone.JID()
	ghost := ghostOf(bob.phone.JID().User)

	medium := longWhatsAppText(20_000) // its HTML makes the event too large
	if _, err := bob.cli.SendMessage(ctx, aliceJID, &waE2E.Message{Conversation: proto.String(medium)}); err != nil {
		t.Fatal(err)
	}
	room := joinPortal(t, s.alice, s.mgmt)
	if msg := s.alice.WaitForEvent(t, room, simWait, saysText(ghost, medium)).Content.AsMessage(); msg.MsgType != event.MsgText || msg.FormattedBody != "" {
		t.Errorf("the long formatted text arrived as %s with %d bytes of HTML; want plain text", msg.MsgType, len(msg.FormattedBody))
	}

	huge := longWhatsAppText(150_000)
	sent, err := bob.cli.SendMessage(ctx, aliceJID, &waE2E.Message{Conversation: proto.String(huge)})
	if err != nil {
		t.Fatal(err)
	}
	msg, first, data := fileFrom(t, s, room, ghost, "message.txt")
	if data != huge {
		t.Errorf("the text file holds %d bytes, want the %d Bob sent", len(data), len(huge))
	}
	if !strings.HasPrefix(msg.Body, huge[:300]) || !strings.Contains(msg.Body, "attached as message.txt") {
		t.Errorf("the file's body %.120q… does not begin the text and say it is attached", msg.Body)
	}

	edited := strings.Replace(huge, "Zeile", "Reihe", 1)
	if _, err = bob.cli.SendMessage(ctx, aliceJID, bob.cli.BuildEdit(aliceJID, sent.ID, &waE2E.Message{Conversation: proto.String(edited)})); err != nil {
		t.Fatal(err)
	}
	answer := s.alice.WaitForEvent(t, room, simWait, func(evt *event.Event) bool {
		msg := evt.Content.AsMessage()
		return evt.Sender == ghost && msg != nil && msg.FileName == "message.txt" && evt.ID != first.ID
	})
	if rel := answer.Content.AsMessage().RelatesTo; rel == nil || rel.GetReplyTo() != first.ID {
		t.Errorf("the edit's message relates %+v, want an answer to %s", rel, first.ID)
	}
	mxc, err := answer.Content.AsMessage().URL.Parse()
	if err != nil {
		t.Fatal(err)
	}
	if got, err := s.alice.DownloadBytes(ctx, mxc); err != nil || string(got) != edited {
		t.Errorf("the edit's file holds %d bytes (%v), want the %d of the edit", len(got), err, len(edited))
	}
	// Bob deletes the message for everyone: the answer, which holds its
	// edited text, goes with it.
	if _, err = bob.cli.SendMessage(ctx, aliceJID, bob.cli.BuildRevoke(aliceJID, types.EmptyJID, sent.ID)); err != nil {
		t.Fatal(err)
	}
	for _, gone := range []id.EventID{first.ID, answer.ID} {
		s.alice.WaitForEvent(t, room, simWait, func(evt *event.Event) bool {
			return evt.Type == event.EventRedaction && evt.Redacts == gone
		})
	}

	doc := []byte("%PDF-1.4\n% the minutes\n")
	caption := longWhatsAppText(90_000)
	docID := bob.sendDocument(t, ctx, aliceJID, doc, "application/pdf", "minutes.pdf", caption)
	pdf, pdfEvt, data := fileFrom(t, s, room, ghost, "minutes.pdf")
	if data != string(doc) || !strings.HasPrefix(pdf.Body, caption[:300]) || !strings.Contains(pdf.Body, "caption.txt") {
		t.Errorf("the document arrived as %d bytes with the caption %.120q…", len(data), pdf.Body)
	}
	_, wholeCaption, data := fileFrom(t, s, room, ghost, "caption.txt")
	if data != caption {
		t.Errorf("the caption file holds %d bytes, want the %d of the caption", len(data), len(caption))
	}
	// Bob shortens the caption: the document shows it, and the whole of
	// the old one goes.
	short := &waE2E.Message{DocumentMessage: &waE2E.DocumentMessage{Caption: proto.String("the minutes"), Mimetype: proto.String("application/pdf"), FileName: proto.String("minutes.pdf")}}
	if _, err = bob.cli.SendMessage(ctx, aliceJID, bob.cli.BuildEdit(aliceJID, docID, short)); err != nil {
		t.Fatal(err)
	}
	s.alice.WaitForEvent(t, room, simWait, func(evt *event.Event) bool {
		msg := evt.Content.AsMessage()
		return msg != nil && msg.RelatesTo.GetReplaceID() == pdfEvt.ID && msg.NewContent != nil && msg.NewContent.Body == "the minutes"
	})
	s.alice.WaitForEvent(t, room, simWait, func(evt *event.Event) bool {
		return evt.Type == event.EventRedaction && evt.Redacts == wholeCaption.ID
	})
	for _, evt := range s.alice.Events(room) {
		if evt.Type == event.EventRedaction && evt.Redacts == pdfEvt.ID {
			t.Error("the document itself was deleted with the whole of its old caption")
		}
	}
	for _, evt := range s.alice.Events(room) {
		if msg := evt.Content.AsMessage(); msg != nil && (strings.Contains(msg.Body, "not bridged") || strings.Contains(msg.Body, "could not bridge")) {
			t.Errorf("the room was told: %q", msg.Body)
		}
	}
}
