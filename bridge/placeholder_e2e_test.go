package bridge_test

import (
	"bytes"
	"context"
	"io"
	"testing"
	"time"

	"maunium.net/go/mautrix/event"

	"github.com/ferrybridge/ferry/bridge/network"
)

// TestPlaceholderIsReplacedByTheRealMessage: a stand-in (a message the
// network cannot show yet) is bridged as such; when the real message
// arrives with the same ID, the stand-in's event is edited into it (file
// and all) and the remaining parts follow; neither a repeated stand-in nor
// a redelivered real message adds anything.
func TestPlaceholderIsReplacedByTheRealMessage(t *testing.T) {
	sc := newScene(t, false)
	h, alice, cl, bob := sc.h, sc.alice, sc.cl, sc.bob
	ctx := h.Context(2 * time.Minute)
	room := sc.openPortal(t, "hello")
	sent := time.Now().Add(-time.Minute).Truncate(time.Millisecond)

	stand := &network.Message{
		Meta: network.Meta{Portal: sc.portal, Sender: network.Sender{User: "bob"}, Timestamp: sent},
		ID:   "p1", Placeholder: true,
		Parts: []network.Part{{Content: &event.MessageEventContent{MsgType: event.MsgNotice, Body: "Waiting for this message"}}},
	}
	for range 2 { // the second is another login, or a redelivery
		if err := cl.Handle(ctx, stand); err != nil {
			t.Fatal(err)
		}
	}
	standEvt := alice.WaitForEvent(t, room, waitLong, bodyIs(bob, "Waiting for this message"))

	photo := bytes.Repeat([]byte("jpeg? "), 300)
	real := &network.Message{
		Meta: network.Meta{Portal: sc.portal, Sender: network.Sender{User: "bob"}, Timestamp: sent},
		ID:   "p1",
		Parts: []network.Part{
			{Content: &event.MessageEventContent{MsgType: event.MsgImage, Body: "photo.jpg"},
				Media: func(context.Context) (*network.Media, error) {
					return &network.Media{Data: io.NopCloser(bytes.NewReader(photo)), MimeType: "image/jpeg", FileName: "photo.jpg", Size: int64(len(photo))}, nil
				}},
			{ID: "caption", Content: &event.MessageEventContent{MsgType: event.MsgText, Body: "look at this"}},
		},
	}
	for range 2 { // the second is a redelivery
		if err := cl.Handle(ctx, real); err != nil {
			t.Fatal(err)
		}
	}
	edit := alice.WaitForEvent(t, room, waitLong, func(evt *event.Event) bool {
		msg := evt.Content.AsMessage()
		return evt.Sender == bob && msg != nil && msg.RelatesTo != nil &&
			msg.RelatesTo.GetReplaceID() == standEvt.ID
	}).Content.AsMessage()
	if edit.NewContent == nil || edit.NewContent.MsgType != event.MsgImage || edit.NewContent.URL == "" {
		t.Fatalf("the stand-in was replaced by %+v, want the image", edit.NewContent)
	}
	mxc, err := edit.NewContent.URL.Parse()
	if err != nil {
		t.Fatal(err)
	}
	if data, err := alice.DownloadBytes(ctx, mxc); err != nil || !bytes.Equal(data, photo) {
		t.Errorf("the replacing image downloads as %d bytes, %v; want the %d sent", len(data), err, len(photo))
	}
	alice.WaitForEvent(t, room, waitLong, bodyIs(bob, "look at this"))

	// Replies and reactions to the message find it at the stand-in's event.
	if err := cl.Handle(ctx, &network.Reaction{
		Meta:   network.Meta{Portal: sc.portal, Sender: network.Sender{User: "bob"}, Timestamp: time.Now()},
		Target: network.MessageRef{ID: "p1"}, Emoji: "👍", Key: "👍",
	}); err != nil {
		t.Fatal(err)
	}
	reaction := alice.WaitForEvent(t, room, waitLong, func(evt *event.Event) bool { return evt.Type == event.EventReaction })
	if target := reaction.Content.AsReaction().RelatesTo.EventID; target != standEvt.ID {
		t.Errorf("a reaction to the replaced message points at %s, want the stand-in's %s", target, standEvt.ID)
	}

	// Nothing was sent twice: one stand-in, one replacement, one caption.
	if err := cl.Handle(ctx, textMessage(sc.portal, "end", "bob", time.Now(), "the end")); err != nil {
		t.Fatal(err)
	}
	alice.WaitForEvent(t, room, waitLong, bodyIs(bob, "the end"))
	counts := map[string]int{}
	for _, evt := range alice.Events(room) {
		msg := evt.Content.AsMessage()
		if evt.Sender != bob || evt.Type != event.EventMessage || msg == nil {
			continue
		}
		switch {
		case evt.ID == standEvt.ID:
			counts["stand-in"]++
		case msg.RelatesTo != nil && msg.RelatesTo.GetReplaceID() == standEvt.ID:
			counts["replacement"]++
		case msg.Body == "Waiting for this message":
			counts["second stand-in"]++
		case msg.Body == "look at this":
			counts["caption"]++
		}
	}
	if counts["stand-in"] != 1 || counts["replacement"] != 1 || counts["caption"] != 1 || counts["second stand-in"] != 0 {
		t.Errorf("events in the room: %v; want one stand-in, one replacement, one caption", counts)
	}
}

// TestEditCanReplaceAFile: an edit whose part carries media (a file the
// network fetched again) uploads it and points the event at the new file.
func TestEditCanReplaceAFile(t *testing.T) {
	sc := newScene(t, false)
	h, alice, cl, bob := sc.h, sc.alice, sc.cl, sc.bob
	ctx := h.Context(2 * time.Minute)
	room := sc.openPortal(t, "hello")
	if err := cl.Handle(ctx, textMessage(sc.portal, "f1", "bob", time.Now(), "The file has expired; asked the phone again")); err != nil {
		t.Fatal(err)
	}
	orig := alice.WaitForEvent(t, room, waitLong, bodyIs(bob, "The file has expired; asked the phone again"))
	doc := []byte("%PDF-1.4 the document")
	err := cl.Handle(ctx, &network.Edit{
		Meta:   network.Meta{Portal: sc.portal, Sender: network.Sender{User: "bob"}, Timestamp: time.Now()},
		Target: "f1",
		Parts: []network.Part{{Content: &event.MessageEventContent{MsgType: event.MsgFile, Body: "doc.pdf"},
			Media: func(context.Context) (*network.Media, error) {
				return &network.Media{Data: io.NopCloser(bytes.NewReader(doc)), MimeType: "application/pdf", FileName: "doc.pdf", Size: int64(len(doc))}, nil
			}}},
	})
	if err != nil {
		t.Fatal(err)
	}
	edit := alice.WaitForEvent(t, room, waitLong, func(evt *event.Event) bool {
		msg := evt.Content.AsMessage()
		return msg != nil && msg.RelatesTo != nil && msg.RelatesTo.GetReplaceID() == orig.ID
	}).Content.AsMessage()
	if edit.NewContent == nil || edit.NewContent.MsgType != event.MsgFile || edit.NewContent.Info == nil ||
		edit.NewContent.Info.MimeType != "application/pdf" {
		t.Fatalf("the edit carries %+v, want the PDF", edit.NewContent)
	}
	mxc, err := edit.NewContent.URL.Parse()
	if err != nil {
		t.Fatal(err)
	}
	if data, err := alice.DownloadBytes(ctx, mxc); err != nil || !bytes.Equal(data, doc) {
		t.Errorf("the edited file downloads as %q, %v", data, err)
	}
}
