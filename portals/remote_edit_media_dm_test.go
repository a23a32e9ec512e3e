package portals

import (
	"context"
	"testing"
	"time"

	"maunium.net/go/mautrix"
	"maunium.net/go/mautrix/event"
	"maunium.net/go/mautrix/id"

	"github.com/ferrybridge/ferry/bridge/network"
	"github.com/ferrybridge/ferry/database"
)

// A caption edited on the phone carries only the new text; the
// replacement must still point at the file, read from the edited event.
// In a direct chat the user opened with a ghost the bot was never
// invited and cannot read it: the chat's ghost reads it instead.
func TestRemoteCaptionEditKeepsTheFileInADirectChatWithoutTheBot(t *testing.T) {
	dc := newBotlessDirectChat(t)
	sent := bridgedPhoto(t, dc)
	if err := dc.p.remoteEdit(context.Background(), dc.login, captionEdit(dc)); err != nil {
		t.Fatalf("the caption edit failed: %v", err)
	}
	replacement := replacementOf(t, dc.alice.Client, dc.room, sent)
	if replacement == nil {
		t.Fatal("the caption edit was not bridged")
	}
	newContent := replacement.Content.AsMessage().NewContent
	if newContent == nil || newContent.Body != "new caption" {
		t.Fatalf("the replacement's new content is %+v, want the new caption", newContent)
	}
	if string(newContent.URL) != photoURL {
		t.Errorf("the replacement of the photo's caption lost its file: url %q, want %q", newContent.URL, photoURL)
	}
}

const photoURL = "mxc://localhost/the-photo"

// bridgedPhoto has bob's ghost send a photo (at photoURL) into dc's room,
// stores it as bridged message "msg-photo", and waits until the ghost
// can read it: a real edit comes long after its message, and Dendrite
// under load answers /event for a just-sent event with "not found" for a
// moment. It returns the photo's event.
func bridgedPhoto(t *testing.T, dc *botlessDirectChat) id.EventID {
	t.Helper()
	ctx := context.Background()
	sent, err := dc.bob.Intent().SendMessageEvent(ctx, dc.room, event.EventMessage, &event.MessageEventContent{
		MsgType: event.MsgImage, Body: "old caption", FileName: "photo.jpg", URL: photoURL,
		Info: &event.FileInfo{MimeType: "image/jpeg", Size: 3},
	})
	if err != nil {
		t.Fatal(err)
	}
	err = dc.db.Messages.Put(ctx, &database.Message{
		Portal: dc.key, ID: "msg-photo", EventID: sent.EventID, RoomID: dc.room,
		Sender: "bob", SenderMXID: dc.bob.Intent().UserID, Timestamp: time.Now(),
	})
	if err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		if _, err = dc.bob.Intent().GetEvent(ctx, dc.room, sent.EventID); err == nil || time.Now().After(deadline) {
			break
		}
	}
	return sent.EventID
}

// captionEdit is bob's edit of the photo's caption, the new text only,
// as networks send it.
func captionEdit(dc *botlessDirectChat) *network.Edit {
	fromBob := network.Meta{Portal: dc.key, Sender: network.Sender{User: "bob"}, Timestamp: time.Now()}
	return &network.Edit{Meta: fromBob, ID: "edit-1", Target: "msg-photo", Parts: []network.Part{{
		Content: &event.MessageEventContent{MsgType: event.MsgImage, Body: "new caption"},
	}}}
}

// replacementOf is the newest event in room replacing target, as client
// sees it; nil if there is none.
func replacementOf(t *testing.T, client *mautrix.Client, room id.RoomID, target id.EventID) *event.Event {
	t.Helper()
	resp, err := client.Messages(context.Background(), room, "", "", mautrix.DirectionBackward, nil, 20)
	if err != nil {
		t.Fatal(err)
	}
	for _, evt := range resp.Chunk {
		if evt.Type != event.EventMessage {
			continue
		}
		if err := evt.Content.ParseRaw(evt.Type); err != nil {
			continue
		}
		msg := evt.Content.AsMessage()
		if msg.RelatesTo != nil && msg.RelatesTo.Type == event.RelReplace && msg.RelatesTo.EventID == target {
			return evt
		}
	}
	return nil
}
