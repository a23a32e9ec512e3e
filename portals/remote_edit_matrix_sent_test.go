package portals

import (
	"bytes"
	"context"
	"io"
	"testing"
	"time"

	"maunium.net/go/mautrix"
	"maunium.net/go/mautrix/event"
	"maunium.net/go/mautrix/id"

	"github.com/ferrybridge/ferry/bridge/network"
	"github.com/ferrybridge/ferry/database"
)

// Edits made on the phone of a message alice sent from Matrix come as
// her ghost's replies to it (the ghost cannot replace her event). When
// she deletes the message for everyone on the phone, its replies go with
// it: none is left showing the deleted message's newer text.
func TestRemoteDeletionOfAMessageSentFromMatrixTakesTheRepliesCarryingItsEdits(t *testing.T) {
	sc := newUserScene(t)
	mine := sc.reactionsRoom(t).sentFromMatrix(t, "msg-mine", "helo")
	ctx := context.Background()
	for i, text := range []string{"hello", "hello!"} {
		edit := &network.Edit{Meta: mine.fromPhone(), Target: "msg-mine", ID: network.MessageID("edit-" + text),
			Parts: []network.Part{{Content: &event.MessageEventContent{MsgType: event.MsgText, Body: text}}}}
		if err := mine.p.remoteEdit(ctx, sc.login, edit); err != nil {
			t.Fatalf("edit %d on the phone failed: %v", i+1, err)
		}
	}
	replies := repliesTo(t, sc.as.BotClient(), mine.p.RoomID, mine.event, 2)
	if len(replies) != 2 {
		t.Fatalf("%d replies carrying her two edits in the room, want one each", len(replies))
	}

	if err := mine.p.remoteRedaction(ctx, &network.Redaction{Meta: mine.fromPhone(), Target: "msg-mine"}); err != nil {
		t.Fatalf("the deletion on the phone failed: %v", err)
	}
	if evt := redactedEvent(t, sc.as, mine.p.RoomID, mine.event); evt.Unsigned.RedactedBecause == nil {
		t.Errorf("her message, deleted on the phone, is still in the room")
	}
	for _, reply := range replies {
		if evt := redactedEvent(t, sc.as, mine.p.RoomID, reply.ID); evt.Unsigned.RedactedBecause == nil {
			t.Errorf("the reply carrying her edit %q is still in the room after the message's deletion", reply.Content.AsMessage().Body)
		}
	}
}

// An edit that brings a file, of a message alice sent from Matrix, comes
// as her ghost's reply carrying that file; a sticker, as a sticker event,
// as the sticker itself would come.
func TestRemoteEditBringingAFileOfAMessageSentFromMatrixRepliesWithTheFile(t *testing.T) {
	sc := newUserScene(t)
	room := sc.reactionsRoom(t)
	for _, tc := range []struct {
		msgID    network.MessageID
		msgType  event.MessageType
		fileName string
		mimeType string
		wantType event.Type
	}{
		{"msg-photo", event.MsgImage, "photo.jpg", "image/jpeg", event.EventMessage},
		{"msg-sticker", event.MessageType(event.EventSticker.Type), "sticker.webp", "image/webp", event.EventSticker},
	} {
		mine := room.sentFromMatrix(t, tc.msgID, "a file soon")
		file := []byte("not really a " + tc.fileName)
		edit := &network.Edit{Meta: mine.fromPhone(), Target: tc.msgID, Parts: []network.Part{{
			Content: &event.MessageEventContent{MsgType: tc.msgType, Body: "the file", FileName: tc.fileName},
			Media: func(context.Context) (*network.Media, error) {
				return &network.Media{Data: io.NopCloser(bytes.NewReader(file)), MimeType: tc.mimeType, FileName: tc.fileName, Size: int64(len(file))}, nil
			},
		}}}
		if err := mine.p.remoteEdit(context.Background(), sc.login, edit); err != nil {
			t.Fatalf("the edit on the phone bringing %s failed: %v", tc.fileName, err)
		}
		replies := repliesTo(t, sc.as.BotClient(), mine.p.RoomID, mine.event, 1)
		if len(replies) != 1 {
			t.Fatalf("%d replies carrying her edit bringing %s in the room, want one", len(replies), tc.fileName)
		}
		reply := replies[0].Content.AsMessage()
		if replies[0].Type != tc.wantType || reply.URL == "" || reply.FileName != tc.fileName {
			t.Errorf("the reply carrying her edit bringing %s is a %s event, %s %q (url %q, file name %q); want a %s event with the file",
				tc.fileName, replies[0].Type.Type, reply.MsgType, reply.Body, reply.URL, reply.FileName, tc.wantType.Type)
		}
	}
}

// matrixSent is a message alice sent from Matrix through Ferry.
type matrixSent struct {
	p     *Portal
	login *network.Login
	event id.EventID
}

// sentFromMatrix has alice send text from Matrix, stored as bridged
// message msgID as storeSent stores it: her remote account is its sender.
func (s matrixReactions) sentFromMatrix(t *testing.T, msgID network.MessageID, text string) matrixSent {
	t.Helper()
	ctx := context.Background()
	sent, err := s.alice.Client.SendText(ctx, s.p.RoomID, text)
	if err != nil {
		t.Fatal(err)
	}
	err = s.db.Messages.Put(ctx, &database.Message{
		Portal: s.p.Key, ID: msgID, EventID: sent.EventID, RoomID: s.p.RoomID,
		Sender: s.login.RemoteUser, SenderMXID: s.alice.UserID, Timestamp: time.Now(),
	})
	if err != nil {
		t.Fatal(err)
	}
	return matrixSent{p: s.p, login: s.login, event: sent.EventID}
}

// fromPhone is an event of alice's own, on her phone, now.
func (m matrixSent) fromPhone() network.Meta {
	return network.Meta{Portal: m.p.Key, Sender: network.Sender{User: m.login.RemoteUser, FromMe: true}, Timestamp: time.Now()}
}

// repliesTo is the message and sticker events in room replying to
// target, as client sees them, once there are want of them or after a
// few seconds (Dendrite's history follows a moment behind).
func repliesTo(t *testing.T, client *mautrix.Client, room id.RoomID, target id.EventID, want int) []*event.Event {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		resp, err := client.Messages(context.Background(), room, "", "", mautrix.DirectionBackward, nil, 50)
		if err != nil {
			t.Fatal(err)
		}
		var replies []*event.Event
		for _, evt := range resp.Chunk {
			if (evt.Type != event.EventMessage && evt.Type != event.EventSticker) || evt.Content.ParseRaw(evt.Type) != nil {
				continue
			}
			if msg := evt.Content.AsMessage(); msg.RelatesTo.GetReplyTo() == target {
				replies = append(replies, evt)
			}
		}
		if len(replies) >= want || time.Now().After(deadline) {
			return replies
		}
	}
}
