package whatsapp

import (
	"bytes"
	"image"
	"image/color"
	"image/png"
	"testing"
	"time"

	"go.mau.fi/whatsmeow"
	"go.mau.fi/whatsmeow/proto/waE2E"
	"go.mau.fi/whatsmeow/types"
	"go.mau.fi/whatsmeow/types/events"
	"google.golang.org/protobuf/proto"
	"maunium.net/go/mautrix/event"
	"maunium.net/go/mautrix/id"

	"github.com/ferrybridge/ferry/internal/ferrytest"
)

// TestE2EMatrixToWhatsAppInADM runs the real bridge with a real Dendrite
// and the login's real (unconnected) whatsmeow client, with a recorder in
// front of it where Ferry talks to WhatsApp. A WhatsApp message makes the
// DM portal; the Matrix user's reply, edit, reaction, reaction removal,
// redaction and image then reach the recorder as the exact protobufs
// whatsmeow would send.
func TestE2EMatrixToWhatsAppInADM(t *testing.T) {
	conn := New()
	fakes := make(chan *fakeWA, 1)
	conn.wrap = func(cli *whatsmeow.Client) waClient {
		f := newFakeWA(cli)
		f.sendTime = time.Time{} // Ferry then takes its own clock, as for a real send
		fakes <- f
		return f
	}
	s := startStoredLogin(t, conn, ferrytest.Options{})
	h, alice, mgmt, cl := s.h, s.alice, s.mgmt, s.cl
	var fake *fakeWA
	select {
	case fake = <-fakes:
	case <-time.After(10 * time.Second):
		t.Fatal("the login's client was not wrapped")
	}
	ctx := h.Context(3 * time.Minute)

	// Bob writes first: the DM portal is made with his ghost and his time.
	ts := time.Now().Add(-10 * time.Minute).Truncate(time.Second)
	incoming := (&events.Message{
		Info: types.MessageInfo{
			MessageSource: types.MessageSource{Chat: bobPN, Sender: bobPN},
			ID:            "B1", Timestamp: ts, PushName: "Bob",
		},
		RawMessage: &waE2E.Message{Conversation: proto.String("question?")},
	}).UnwrapRaw()
	// whatsmeow stores the sender's push name (and reports it) alongside
	// the message; here before it, one of the orders its goroutine allows.
	cl.cli.DangerousInternals().UpdatePushName(ctx, bobPN, types.EmptyJID, &incoming.Info, "Bob")
	if failed := cl.cli.DangerousInternals().DispatchEvent(incoming); failed {
		t.Fatal("the first message was not bridged")
	}
	room := joinPortal(t, alice, mgmt)
	ghost := id.UserID("@whatsapp_" + bobPN.User + ":localhost")
	first := alice.WaitForEvent(t, room, 30*time.Second, func(evt *event.Event) bool {
		msg := evt.Content.AsMessage()
		return evt.Type == event.EventMessage && msg != nil && msg.Body == "question?"
	})
	if first.Sender != ghost || first.Timestamp != ts.UnixMilli() {
		t.Errorf("first message from %s at %d; want %s at %d", first.Sender, first.Timestamp, ghost, ts.UnixMilli())
	}
	members, err := alice.JoinedMembers(ctx, room)
	if err != nil {
		t.Fatal(err)
	}
	if m, ok := members.Joined[ghost]; !ok || m.DisplayName != "Bob (WhatsApp)" {
		t.Errorf("ghost in the room: %v %+v; want joined as \"Bob (WhatsApp)\"", ok, m)
	}
	if name, err := alice.GetDisplayName(ctx, ghost); err != nil || name.DisplayName != "Bob (WhatsApp)" {
		t.Errorf("ghost's profile name %+v, %v", name, err)
	}

	sends := 0
	next := func(what string) sentMessage {
		t.Helper()
		sends++
		for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(50 * time.Millisecond) {
			fake.mu.Lock()
			n := len(fake.sent)
			var got sentMessage
			if n >= sends {
				got = fake.sent[sends-1]
			}
			fake.mu.Unlock()
			if n > sends {
				t.Fatalf("%s: %d messages reached WhatsApp, want %d", what, n, sends)
			}
			if n == sends {
				if got.To != bobPN {
					t.Errorf("%s went to %s, want %s", what, got.To, bobPN)
				}
				return got
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s did not reach WhatsApp", what)
			}
		}
	}

	// A reply quotes Bob's message by ID and sender as WhatsApp addresses
	// them, with its text as the core read it from the homeserver.
	reply, err := alice.SendMessageEvent(ctx, room, event.EventMessage, &event.MessageEventContent{
		MsgType: event.MsgText, Body: "an answer",
		RelatesTo: (&event.RelatesTo{}).SetReplyTo(first.ID),
	})
	if err != nil {
		t.Fatal(err)
	}
	sent := next("the reply")
	assertProto(t, "reply", withoutSecret(t, sent.Msg), &waE2E.Message{ExtendedTextMessage: &waE2E.ExtendedTextMessage{
		Text: proto.String("an answer"),
		ContextInfo: &waE2E.ContextInfo{
			StanzaID:      proto.String("B1"),
			Participant:   proto.String(bobPN.String()),
			QuotedMessage: &waE2E.Message{Conversation: proto.String("question?")},
		},
	}})
	if len(sent.Extra) != 1 || sent.Extra[0].ID == "" {
		t.Fatalf("the reply was sent without Ferry's message ID: %+v", sent.Extra)
	}
	own := sent.Extra[0].ID

	// An edit of the reply.
	_, err = alice.SendMessageEvent(ctx, room, event.EventMessage, &event.MessageEventContent{
		MsgType: event.MsgText, Body: "* the answer",
		NewContent: &event.MessageEventContent{MsgType: event.MsgText, Body: "the answer"},
		RelatesTo:  (&event.RelatesTo{}).SetReplace(reply.EventID),
	})
	if err != nil {
		t.Fatal(err)
	}
	edit := proto.Clone(next("the edit").Msg).(*waE2E.Message)
	want := cl.cli.BuildEdit(bobPN, own, &waE2E.Message{Conversation: proto.String("the answer")})
	if edit.GetEditedMessage().GetMessage().GetProtocolMessage().GetTimestampMS() == 0 {
		t.Error("edit without timestamp")
	} else {
		edit.EditedMessage.Message.ProtocolMessage.TimestampMS = want.EditedMessage.Message.ProtocolMessage.TimestampMS
	}
	assertProto(t, "edit", edit, want)

	// A reaction to Bob's message, then its removal (Dendrite pushes no
	// redactions to appservices: the harness does, as Synapse would).
	react, err := alice.SendReaction(ctx, room, first.ID, "👍")
	if err != nil {
		t.Fatal(err)
	}
	assertProto(t, "reaction", withoutReactionTime(next("the reaction").Msg), withoutReactionTime(cl.cli.BuildReaction(bobPN, bobPN, "B1", "👍")))
	h.PushEvents(map[string]any{
		"type": "m.room.redaction", "event_id": "$unreact", "room_id": room, "sender": alice.UserID,
		"redacts": react.EventID, "origin_server_ts": time.Now().UnixMilli(), "content": map[string]any{"redacts": react.EventID},
	})
	assertProto(t, "reaction removal", withoutReactionTime(next("the reaction removal").Msg), withoutReactionTime(cl.cli.BuildReaction(bobPN, bobPN, "B1", "")))

	// Deleting her reply revokes it for everyone.
	h.PushEvents(map[string]any{
		"type": "m.room.redaction", "event_id": "$revoke", "room_id": room, "sender": alice.UserID,
		"redacts": reply.EventID, "origin_server_ts": time.Now().UnixMilli(), "content": map[string]any{"redacts": reply.EventID},
	})
	assertProto(t, "revoke", next("the redaction").Msg, cl.cli.BuildRevoke(bobPN, types.EmptyJID, own))

	// An image is fetched from the media repository, uploaded to WhatsApp
	// and sent as an image message.
	img := image.NewRGBA(image.Rect(0, 0, 64, 48))
	for x := 0; x < 64; x++ {
		img.Set(x, x%48, color.RGBA{G: 200, A: 255})
	}
	var buf bytes.Buffer
	if err = png.Encode(&buf, img); err != nil {
		t.Fatal(err)
	}
	up, err := alice.UploadBytes(ctx, buf.Bytes(), "image/png")
	if err != nil {
		t.Fatal(err)
	}
	_, err = alice.SendMessageEvent(ctx, room, event.EventMessage, &event.MessageEventContent{
		MsgType: event.MsgImage, Body: "garden.png", URL: up.ContentURI.CUString(),
		Info: &event.FileInfo{MimeType: "image/png", Width: 64, Height: 48, Size: buf.Len()},
	})
	if err != nil {
		t.Fatal(err)
	}
	image := proto.Clone(next("the image").Msg).(*waE2E.Message)
	fake.mu.Lock()
	uploads := append([]uploadCall(nil), fake.uploads...)
	fake.mu.Unlock()
	if len(uploads) != 1 || uploads[0].Type != whatsmeow.MediaImage {
		t.Fatalf("uploads to WhatsApp: %d", len(uploads))
	}
	if len(image.GetImageMessage().GetJPEGThumbnail()) == 0 {
		t.Error("image sent without thumbnail")
	} else {
		image.ImageMessage.JPEGThumbnail = nil
	}
	assertProto(t, "image", withoutSecret(t, image), &waE2E.Message{ImageMessage: &waE2E.ImageMessage{
		URL: proto.String("https://mmg.whatsapp.net/fake"), DirectPath: proto.String("/v/fake"), MediaKey: []byte("media-key"),
		FileEncSHA256: []byte("enc-sha"), FileSHA256: []byte("sha"), FileLength: proto.Uint64(uint64(len(uploads[0].Data))),
		Mimetype: proto.String("image/jpeg"), Width: proto.Uint32(64), Height: proto.Uint32(48),
	}})
}
