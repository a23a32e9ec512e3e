package whatsapp

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"io"
	"strings"
	"testing"
	"time"

	"go.mau.fi/whatsmeow"
	"go.mau.fi/whatsmeow/proto/waCommon"
	"go.mau.fi/whatsmeow/proto/waE2E"
	"go.mau.fi/whatsmeow/types"
	"google.golang.org/protobuf/encoding/prototext"
	"google.golang.org/protobuf/proto"
	"maunium.net/go/mautrix/event"

	"github.com/ferrybridge/ferry/bridge/network"
)

func outMeta(portal network.PortalKey) network.OutgoingMeta {
	return network.OutgoingMeta{Portal: portal, EventID: "$evt", Sender: "@alice:example.org"}
}

func text(body string) *event.MessageEventContent {
	return &event.MessageEventContent{MsgType: event.MsgText, Body: body}
}

func assertProto(t *testing.T, what string, got, want proto.Message) {
	t.Helper()
	if !proto.Equal(got, want) {
		t.Errorf("%s:\n got  %s\n want %s", what, prototext.Format(got), prototext.Format(want))
	}
}

// seen makes the login see an incoming message, as the handler does.
func (env *testEnv) seen(t *testing.T, id string, src types.MessageSource) {
	t.Helper()
	if !env.dispatch(textEvent(id, src, "original")) {
		t.Fatalf("incoming %s not acknowledged", id)
	}
	env.host.take()
}

func TestSendText(t *testing.T) {
	env := newEnv(t, sqliteDB(t), "")
	res, err := env.cl.Send(env.ctx, &network.OutgoingMessage{OutgoingMeta: outMeta(dmPortal(bobPN)), Content: text("hello")})
	if err != nil {
		t.Fatal(err)
	}
	sent := env.wa.lastSent(t)
	if sent.To != bobPN || len(sent.Extra) != 1 || sent.Extra[0].ID == "" || res.ID != network.MessageID(sent.Extra[0].ID) {
		t.Errorf("sent to %s with %+v, result %+v", sent.To, sent.Extra, res)
	}
	if !res.Timestamp.Equal(env.wa.sendTime) {
		t.Errorf("timestamp %s, want the server's %s", res.Timestamp, env.wa.sendTime)
	}
	assertProto(t, "text", withoutSecret(t, sent.Msg), &waE2E.Message{Conversation: proto.String("hello")})
	key, err := env.conn.msgs.get(env.ctx, ownLogin, dmPortal(bobPN).Chat, string(res.ID))
	if err != nil || key == nil || !key.FromMe || key.ChatJID != bobPN {
		t.Errorf("stored key %+v, %v", key, err)
	}

	// Relay mode names the real sender.
	_, err = env.cl.Send(env.ctx, &network.OutgoingMessage{
		OutgoingMeta: network.OutgoingMeta{Portal: groupPortal(group), Relay: &network.RelaySender{DisplayName: "Carol"}},
		Content:      text("hi all"),
	})
	if err != nil {
		t.Fatal(err)
	}
	assertProto(t, "relayed", withoutSecret(t, env.wa.lastSent(t).Msg), &waE2E.Message{Conversation: proto.String("*Carol*: hi all")})
}

func TestSendReplyQuotesTheSenderAsWhatsAppAddressedThem(t *testing.T) {
	env := newEnv(t, sqliteDB(t), "")
	env.seen(t, "Q1", types.MessageSource{Chat: group, Sender: carlLID, IsGroup: true, AddressingMode: types.AddressingModeLID})
	_, err := env.cl.Send(env.ctx, &network.OutgoingMessage{
		OutgoingMeta: outMeta(groupPortal(group)),
		Content:      text("sure"),
		ReplyTo:      &network.ReplyTarget{MessageRef: network.MessageRef{ID: "Q1"}, Sender: "lid-300000000003"},
	})
	if err != nil {
		t.Fatal(err)
	}
	assertProto(t, "reply", withoutSecret(t, env.wa.lastSent(t).Msg), &waE2E.Message{ExtendedTextMessage: &waE2E.ExtendedTextMessage{
		Text: proto.String("sure"),
		ContextInfo: &waE2E.ContextInfo{
			StanzaID:      proto.String("Q1"),
			Participant:   proto.String("300000000003@lid"),
			QuotedMessage: &waE2E.Message{Conversation: proto.String("")},
		},
	}})
}

func TestEditReactRedact(t *testing.T) {
	env := newEnv(t, sqliteDB(t), "")
	// Edits are checked against WhatsApp's time of the message.
	env.wa.sendTime = time.Now()
	res, err := env.cl.Send(env.ctx, &network.OutgoingMessage{OutgoingMeta: outMeta(dmPortal(bobPN)), Content: text("helo")})
	if err != nil {
		t.Fatal(err)
	}
	own := string(res.ID)

	err = env.cl.Edit(env.ctx, &network.OutgoingEdit{OutgoingMeta: outMeta(dmPortal(bobPN)), Target: network.MessageRef{ID: res.ID}, Content: text("hello")})
	if err != nil {
		t.Fatal(err)
	}
	edit := proto.Clone(env.wa.lastSent(t).Msg).(*waE2E.Message)
	if edit.GetEditedMessage().GetMessage().GetProtocolMessage().GetTimestampMS() == 0 {
		t.Error("edit without timestamp")
	}
	edit.EditedMessage.Message.ProtocolMessage.TimestampMS = nil
	assertProto(t, "edit", edit, &waE2E.Message{EditedMessage: &waE2E.FutureProofMessage{Message: &waE2E.Message{
		ProtocolMessage: &waE2E.ProtocolMessage{
			Key:           &waCommon.MessageKey{FromMe: proto.Bool(true), ID: proto.String(own), RemoteJID: proto.String(bobPN.String())},
			Type:          waE2E.ProtocolMessage_MESSAGE_EDIT.Enum(),
			EditedMessage: &waE2E.Message{Conversation: proto.String("hello")},
		},
	}}})

	// Reactions to Bob's group message point at Bob as participant.
	env.seen(t, "G1", types.MessageSource{Chat: group, Sender: bobPN, IsGroup: true})
	bobKey := &waCommon.MessageKey{FromMe: proto.Bool(false), ID: proto.String("G1"), RemoteJID: proto.String(group.String()), Participant: proto.String(bobPN.String())}
	emoji, err := env.cl.React(env.ctx, &network.OutgoingReaction{OutgoingMeta: outMeta(groupPortal(group)), Target: network.MessageRef{ID: "G1"}, Key: "👍\ufe0f"})
	if err != nil || emoji != "" {
		t.Fatalf("React = %q, %v", emoji, err)
	}
	assertProto(t, "reaction", withoutReactionTime(env.wa.lastSent(t).Msg), &waE2E.Message{ReactionMessage: &waE2E.ReactionMessage{Key: bobKey, Text: proto.String("👍")}})
	if err = env.cl.Unreact(env.ctx, &network.OutgoingUnreaction{OutgoingMeta: outMeta(groupPortal(group)), Target: network.MessageRef{ID: "G1"}}); err != nil {
		t.Fatal(err)
	}
	assertProto(t, "unreaction", withoutReactionTime(env.wa.lastSent(t).Msg), &waE2E.Message{ReactionMessage: &waE2E.ReactionMessage{Key: bobKey, Text: proto.String("")}})
	// A reaction to an own message.
	if _, err = env.cl.React(env.ctx, &network.OutgoingReaction{OutgoingMeta: outMeta(dmPortal(bobPN)), Target: network.MessageRef{ID: res.ID}, Key: "❤️"}); err != nil {
		t.Fatal(err)
	}
	assertProto(t, "own reaction", withoutReactionTime(env.wa.lastSent(t).Msg), &waE2E.Message{ReactionMessage: &waE2E.ReactionMessage{
		Key: &waCommon.MessageKey{FromMe: proto.Bool(true), ID: proto.String(own), RemoteJID: proto.String(bobPN.String())}, Text: proto.String("❤"),
	}})

	// Revoke an own message; as admin, Bob's group message.
	if err = env.cl.Redact(env.ctx, &network.OutgoingRedaction{OutgoingMeta: outMeta(dmPortal(bobPN)), Target: res.ID}); err != nil {
		t.Fatal(err)
	}
	assertProto(t, "revoke", env.wa.lastSent(t).Msg, &waE2E.Message{ProtocolMessage: &waE2E.ProtocolMessage{
		Type: waE2E.ProtocolMessage_REVOKE.Enum(),
		Key:  &waCommon.MessageKey{FromMe: proto.Bool(true), ID: proto.String(own), RemoteJID: proto.String(bobPN.String())},
	}})
	if err = env.cl.Redact(env.ctx, &network.OutgoingRedaction{OutgoingMeta: outMeta(groupPortal(group)), Target: "G1"}); err != nil {
		t.Fatal(err)
	}
	assertProto(t, "admin revoke", env.wa.lastSent(t).Msg, &waE2E.Message{ProtocolMessage: &waE2E.ProtocolMessage{
		Type: waE2E.ProtocolMessage_REVOKE.Enum(), Key: bobKey,
	}})

	// What WhatsApp would refuse is refused here, with a reason.
	env.seen(t, "B1", types.MessageSource{Chat: bobPN, Sender: bobPN})
	cases := map[string]error{
		"redact someone else's DM message": env.cl.Redact(env.ctx, &network.OutgoingRedaction{OutgoingMeta: outMeta(dmPortal(bobPN)), Target: "B1"}),
		"edit someone else's message":      env.cl.Edit(env.ctx, &network.OutgoingEdit{OutgoingMeta: outMeta(dmPortal(bobPN)), Target: network.MessageRef{ID: "B1"}, Content: text("x")}),
		"react in a group to an unknown message": func() error {
			_, err := env.cl.React(env.ctx, &network.OutgoingReaction{OutgoingMeta: outMeta(groupPortal(group)), Target: network.MessageRef{ID: "NOPE"}, Key: "👍"})
			return err
		}(),
	}
	env.conn.msgs.put(env.ctx, ownLogin, dmPortal(bobPN).Chat, "OLD", msgKey{ChatJID: bobPN, Sender: ownPN, FromMe: true, Timestamp: time.Now().Add(-time.Hour)})
	cases["edit after the window"] = env.cl.Edit(env.ctx, &network.OutgoingEdit{OutgoingMeta: outMeta(dmPortal(bobPN)), Target: network.MessageRef{ID: "OLD"}, Content: text("x")})
	for what, err := range cases {
		if network.UserMessage(err, "") == "" {
			t.Errorf("%s: %v, want a user error", what, err)
		}
	}
}

func withoutReactionTime(m *waE2E.Message) *waE2E.Message {
	m = proto.Clone(m).(*waE2E.Message)
	if m.GetReactionMessage().GetSenderTimestampMS() != 0 {
		m.ReactionMessage.SenderTimestampMS = nil
	}
	return m
}

func TestSendImageUploadsThenSends(t *testing.T) {
	env := newEnv(t, sqliteDB(t), "")
	img := image.NewRGBA(image.Rect(0, 0, 64, 48))
	for x := 0; x < 64; x++ {
		img.Set(x, x%48, color.RGBA{R: 200, A: 255})
	}
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		t.Fatal(err)
	}
	content := &event.MessageEventContent{MsgType: event.MsgImage, Body: "cat.png", Info: &event.FileInfo{MimeType: "image/png"}}
	_, err := env.cl.Send(env.ctx, &network.OutgoingMessage{
		OutgoingMeta: outMeta(dmPortal(bobPN)), Content: content,
		Media: func(ctx context.Context) (*network.Media, error) {
			return &network.Media{Data: io.NopCloser(bytes.NewReader(buf.Bytes())), MimeType: "image/png", FileName: "cat.png", Size: int64(buf.Len())}, nil
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(env.wa.uploads) != 1 || env.wa.uploads[0].Type != whatsmeow.MediaImage {
		t.Fatalf("uploads: %+v", env.wa.uploads)
	}
	got := proto.Clone(env.wa.lastSent(t).Msg).(*waE2E.Message)
	if len(got.GetImageMessage().GetJPEGThumbnail()) == 0 {
		t.Error("image sent without thumbnail")
	}
	got.ImageMessage.JPEGThumbnail = nil
	assertProto(t, "image", withoutSecret(t, got), &waE2E.Message{ImageMessage: &waE2E.ImageMessage{
		URL: proto.String("https://mmg.whatsapp.net/fake"), DirectPath: proto.String("/v/fake"), MediaKey: []byte("media-key"),
		FileEncSHA256: []byte("enc-sha"), FileSHA256: []byte("sha"), FileLength: proto.Uint64(uint64(len(env.wa.uploads[0].Data))),
		Mimetype: proto.String("image/jpeg"), Width: proto.Uint32(64), Height: proto.Uint32(48),
	}})

	// A file that cannot be fetched from Matrix is the user's to hear about.
	_, err = env.cl.Send(env.ctx, &network.OutgoingMessage{OutgoingMeta: outMeta(dmPortal(bobPN)), Content: content,
		Media: func(ctx context.Context) (*network.Media, error) { return nil, errors.New("404") }})
	if !strings.Contains(network.UserMessage(err, ""), "could not be fetched") {
		t.Errorf("failed fetch: %v", err)
	}
}

func TestTypingReceiptsAndFailures(t *testing.T) {
	env := newEnv(t, sqliteDB(t), "")
	if err := env.cl.SendTyping(env.ctx, groupPortal(group), true); err != nil {
		t.Fatal(err)
	}
	if err := env.cl.SendTyping(env.ctx, dmPortal(bobPN), false); err != nil {
		t.Fatal(err)
	}
	if len(env.wa.presences) != 2 || env.wa.presences[0] != (presenceCall{group, types.ChatPresenceComposing}) ||
		env.wa.presences[1] != (presenceCall{bobPN, types.ChatPresencePaused}) {
		t.Errorf("presences: %+v", env.wa.presences)
	}
	env.seen(t, "G1", types.MessageSource{Chat: group, Sender: bobLID, IsGroup: true})
	if err := env.cl.SendReceipt(env.ctx, groupPortal(group), "G1"); err != nil {
		t.Fatal(err)
	}
	if err := env.cl.SendReceipt(env.ctx, groupPortal(group), "UNKNOWN"); err != nil {
		t.Fatal(err)
	}
	if len(env.wa.reads) != 1 || env.wa.reads[0].Chat != group || env.wa.reads[0].Sender != bobLID || env.wa.reads[0].IDs[0] != "G1" {
		t.Errorf("reads: %+v", env.wa.reads)
	}

	// Another login's DM is not this client's to send to.
	other := network.PortalKey{Network: NetworkID, Chat: "4915100000002@s.whatsapp.net", Receiver: "4915199999999"}
	if _, err := env.cl.Send(env.ctx, &network.OutgoingMessage{OutgoingMeta: outMeta(other), Content: text("x")}); !errors.Is(err, network.ErrWrongAccount) {
		t.Errorf("send to another login's chat: %v", err)
	}
	env.wa.sendErr = whatsmeow.ErrNotConnected
	_, err := env.cl.Send(env.ctx, &network.OutgoingMessage{OutgoingMeta: outMeta(dmPortal(bobPN)), Content: text("x")})
	if !strings.Contains(network.UserMessage(err, ""), "not connected") {
		t.Errorf("send while disconnected: %v", err)
	}
}

func TestStartDMAndLeave(t *testing.T) {
	env := newEnv(t, sqliteDB(t), "")
	env.wa.loggedIn.Store(true)
	env.wa.onWhatsApp = map[string]types.IsOnWhatsAppResponse{
		"+4915100000002": {Query: "+4915100000002", JID: bobLID, PhoneNumber: bobPN, IsIn: true},
	}
	key, err := env.cl.StartDM(env.ctx, "4915100000002")
	if err != nil || key != dmPortal(bobPN) {
		t.Errorf("StartDM(bob) = %+v, %v", key, err)
	}
	if _, err = env.cl.StartDM(env.ctx, "4915100000077"); !strings.Contains(network.UserMessage(err, ""), "not on WhatsApp") {
		t.Errorf("StartDM(unknown) = %v", err)
	}
	if key, err = env.cl.StartDM(env.ctx, "lid-300000000003"); err != nil || key != dmPortal(carlLID) {
		t.Errorf("StartDM(LID) = %+v, %v", key, err)
	}
	if err = env.cl.LeaveChat(env.ctx, groupPortal(group)); err != nil {
		t.Errorf("LeaveChat: %v", err)
	}
	if len(env.wa.sent) != 0 {
		t.Errorf("leaving a room sent something to WhatsApp: %+v", env.wa.sent)
	}
}

// TestUploadsAreBounded: files from many portals at once go to WhatsApp
// at most maxConcurrentUploads at a time; the rest wait and then go.
func TestUploadsAreBounded(t *testing.T) {
	env := newEnv(t, sqliteDB(t), "")
	env.wa.uploadGate = make(chan struct{})
	const sends = maxConcurrentUploads + 3
	errs := make(chan error, sends)
	for i := range sends {
		go func() {
			content := &event.MessageEventContent{MsgType: event.MsgFile, Body: "notes.txt", Info: &event.FileInfo{MimeType: "text/plain"}}
			_, err := env.cl.Send(env.ctx, &network.OutgoingMessage{
				OutgoingMeta: outMeta(dmPortal(types.NewJID(fmt.Sprintf("49151000001%02d", i), types.DefaultUserServer))), Content: content,
				Media: func(ctx context.Context) (*network.Media, error) {
					return &network.Media{Data: io.NopCloser(strings.NewReader("text")), MimeType: "text/plain", Size: 4}, nil
				},
			})
			errs <- err
		}()
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		env.wa.mu.Lock()
		inFlight := env.wa.uploading
		env.wa.mu.Unlock()
		if inFlight == maxConcurrentUploads {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d uploads in flight, want %d waiting at the gate", inFlight, maxConcurrentUploads)
		}
		time.Sleep(10 * time.Millisecond)
	}
	time.Sleep(100 * time.Millisecond) // time for a wrongly admitted upload to show
	close(env.wa.uploadGate)
	for range sends {
		if err := <-errs; err != nil {
			t.Error(err)
		}
	}
	if env.wa.maxUploading != maxConcurrentUploads || len(env.wa.uploads) != sends {
		t.Errorf("at most %d uploads at once and %d in all; want %d and %d", env.wa.maxUploading, len(env.wa.uploads), maxConcurrentUploads, sends)
	}
}
