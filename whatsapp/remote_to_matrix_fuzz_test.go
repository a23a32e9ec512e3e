package whatsapp

import (
	"bytes"
	"context"
	"fmt"
	"sync"
	"testing"

	"github.com/rs/zerolog"
	"go.mau.fi/whatsmeow/proto/waCommon"
	"go.mau.fi/whatsmeow/proto/waE2E"
	"go.mau.fi/whatsmeow/types"
	"go.mau.fi/whatsmeow/types/events"
	"google.golang.org/protobuf/proto"

	"github.com/ferrybridge/ferry/bridge/network"
)

// lockedBuffer is a log sink the fuzz target reads between inputs.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) take() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	s := b.buf.String()
	b.buf.Reset()
	return s
}

// newEnvLogged is newEnv on SQLite for a fuzz test: its warnings go to
// the returned buffer, as a fuzz target may not log through testing.F.
func newEnvLogged(t testing.TB) (*testEnv, *lockedBuffer) {
	t.Helper()
	logs := &lockedBuffer{}
	host := newFakeHost(t, sqliteDB(t))
	host.log = zerolog.New(logs).Level(zerolog.WarnLevel)
	conn := startConnectorOn(t, host, "")
	return loadEnv(t, conn, host, storeDevice(t, conn, ownDev, ownLID)), logs
}

// fuzzMessageSeeds are real shapes of WhatsApp messages, each alone and
// in the wrappers WhatsApp puts around them.
func fuzzMessageSeeds() []*waE2E.Message {
	key := &waCommon.MessageKey{RemoteJID: proto.String(group.String()), ID: proto.String("ORIG"), Participant: proto.String(bobPN.String())}
	ci := &waE2E.ContextInfo{
		StanzaID: proto.String("ORIG"), Participant: proto.String(bobPN.String()),
		QuotedMessage: &waE2E.Message{Conversation: proto.String("quoted")},
		MentionedJID:  []string{bobPN.String(), carlLID.String(), ownPN.String(), "bad@"},
	}
	media := []*waE2E.Message{
		{ImageMessage: &waE2E.ImageMessage{Mimetype: proto.String("image/jpeg"), Caption: proto.String("*look* @4915100000002"), Width: proto.Uint32(640), Height: proto.Uint32(480),
			DirectPath: proto.String("/v/img"), MediaKey: []byte("k"), FileLength: proto.Uint64(1234), ContextInfo: ci}},
		{ImageMessage: &waE2E.ImageMessage{}},
		{VideoMessage: &waE2E.VideoMessage{Mimetype: proto.String("video/mp4"), Seconds: proto.Uint32(12), GifPlayback: proto.Bool(true), DirectPath: proto.String("/v/vid")}},
		{PtvMessage: &waE2E.VideoMessage{}},
		{AudioMessage: &waE2E.AudioMessage{Mimetype: proto.String("audio/ogg; codecs=opus"), PTT: proto.Bool(true), Seconds: proto.Uint32(3), Waveform: []byte{0, 50, 100, 255}}},
		{AudioMessage: &waE2E.AudioMessage{}},
		{DocumentMessage: &waE2E.DocumentMessage{FileName: proto.String("../../etc/passwd"), Title: proto.String("t"), Mimetype: proto.String("application/pdf"), FileLength: proto.Uint64(1 << 40)}},
		{DocumentMessage: &waE2E.DocumentMessage{}},
		{StickerMessage: &waE2E.StickerMessage{Mimetype: proto.String("image/webp"), Width: proto.Uint32(512), Height: proto.Uint32(512)}},
		{StickerMessage: &waE2E.StickerMessage{IsLottie: proto.Bool(true)}},
		{StickerMessage: &waE2E.StickerMessage{}},
	}
	plain := []*waE2E.Message{
		{Conversation: proto.String("hello *world*")},
		{Conversation: proto.String("")},
		{ExtendedTextMessage: &waE2E.ExtendedTextMessage{Text: proto.String("@4915100000002 yes https://example.com"), ContextInfo: ci}},
		{ExtendedTextMessage: &waE2E.ExtendedTextMessage{ContextInfo: &waE2E.ContextInfo{}}},
		{LocationMessage: &waE2E.LocationMessage{DegreesLatitude: proto.Float64(52.5), DegreesLongitude: proto.Float64(13.4), Name: proto.String("Berlin"), ContextInfo: ci}},
		{LocationMessage: &waE2E.LocationMessage{}},
		{LiveLocationMessage: &waE2E.LiveLocationMessage{DegreesLatitude: proto.Float64(-1), Caption: proto.String("here")}},
		{ContactMessage: &waE2E.ContactMessage{DisplayName: proto.String("Dana"), Vcard: proto.String("BEGIN:VCARD\nitem1.TEL;waid=4915100000004:+49 151 00000004\nEND:VCARD")}},
		{ContactMessage: &waE2E.ContactMessage{}},
		{ContactsArrayMessage: &waE2E.ContactsArrayMessage{DisplayName: proto.String("2 contacts"), Contacts: []*waE2E.ContactMessage{{DisplayName: proto.String("A")}, {Vcard: proto.String("TEL:1")}}}},
		{ContactsArrayMessage: &waE2E.ContactsArrayMessage{}},
		{PollCreationMessageV3: &waE2E.PollCreationMessage{Name: proto.String("Lunch?"), Options: []*waE2E.PollCreationMessage_Option{{OptionName: proto.String("<b>yes</b>")}, {OptionName: proto.String("no")}}, SelectableOptionsCount: proto.Uint32(0)}},
		{PollCreationMessage: &waE2E.PollCreationMessage{}},
		{PollUpdateMessage: &waE2E.PollUpdateMessage{PollCreationMessageKey: key}},
		{ReactionMessage: &waE2E.ReactionMessage{Key: key, Text: proto.String("👍")}},
		{ReactionMessage: &waE2E.ReactionMessage{Key: key}},
		{ReactionMessage: &waE2E.ReactionMessage{}},
		{EncReactionMessage: &waE2E.EncReactionMessage{TargetMessageKey: key, EncPayload: []byte("x")}},
		{ProtocolMessage: &waE2E.ProtocolMessage{Type: waE2E.ProtocolMessage_MESSAGE_EDIT.Enum(), Key: key,
			EditedMessage: &waE2E.Message{ExtendedTextMessage: &waE2E.ExtendedTextMessage{Text: proto.String("fixed"), ContextInfo: ci}}}},
		{ProtocolMessage: &waE2E.ProtocolMessage{Type: waE2E.ProtocolMessage_MESSAGE_EDIT.Enum(), Key: key,
			EditedMessage: &waE2E.Message{ImageMessage: &waE2E.ImageMessage{Caption: proto.String("new caption")}}}},
		{ProtocolMessage: &waE2E.ProtocolMessage{Type: waE2E.ProtocolMessage_MESSAGE_EDIT.Enum()}},
		{ProtocolMessage: &waE2E.ProtocolMessage{Type: waE2E.ProtocolMessage_REVOKE.Enum(), Key: key}},
		{ProtocolMessage: &waE2E.ProtocolMessage{Type: waE2E.ProtocolMessage_REVOKE.Enum()}},
		{ProtocolMessage: &waE2E.ProtocolMessage{Type: waE2E.ProtocolMessage_EPHEMERAL_SETTING.Enum(), EphemeralExpiration: proto.Uint32(86400)}},
		{ProtocolMessage: &waE2E.ProtocolMessage{}},
		{SenderKeyDistributionMessage: &waE2E.SenderKeyDistributionMessage{GroupID: proto.String(group.String())}},
		{MessageContextInfo: &waE2E.MessageContextInfo{}},
		{GroupInviteMessage: &waE2E.GroupInviteMessage{GroupName: proto.String("g")}},
		{EventMessage: &waE2E.EventMessage{Name: proto.String("<b>Party</b>"), Description: proto.String("at *home*\n&"), StartTime: proto.Int64(1 << 62),
			EndTime: proto.Int64(-1), Location: &waE2E.LocationMessage{Name: proto.String("Home")}, JoinLink: proto.String("https://call.whatsapp.com/x"), ContextInfo: ci}},
		{EventMessage: &waE2E.EventMessage{}},
		{InteractiveMessage: &waE2E.InteractiveMessage{Body: &waE2E.InteractiveMessage_Body{Text: proto.String("code *1*")}, ContextInfo: ci,
			InteractiveMessage: &waE2E.InteractiveMessage_NativeFlowMessage_{NativeFlowMessage: &waE2E.InteractiveMessage_NativeFlowMessage{
				Buttons: []*waE2E.InteractiveMessage_NativeFlowMessage_NativeFlowButton{{Name: proto.String("cta_copy"), ButtonParamsJSON: proto.String(`{"copy_code":"1"}`)}}}}}},
		{ListMessage: &waE2E.ListMessage{Title: proto.String("t"), Sections: []*waE2E.ListMessage_Section{{Rows: []*waE2E.ListMessage_Row{{Title: proto.String("r")}}}}}},
		{TemplateButtonReplyMessage: &waE2E.TemplateButtonReplyMessage{SelectedDisplayText: proto.String("Yes"), ContextInfo: ci}},
		{PinInChatMessage: &waE2E.PinInChatMessage{Key: key, Type: waE2E.PinInChatMessage_PIN_FOR_ALL.Enum(), SenderTimestampMS: proto.Int64(1)},
			MessageContextInfo: &waE2E.MessageContextInfo{MessageAddOnDurationInSecs: proto.Uint32(604800)}},
		{PinInChatMessage: &waE2E.PinInChatMessage{Key: key, Type: waE2E.PinInChatMessage_UNPIN_FOR_ALL.Enum()}},
		{PinInChatMessage: &waE2E.PinInChatMessage{}},
		{EncEventResponseMessage: &waE2E.EncEventResponseMessage{EventCreationMessageKey: key, EncPayload: []byte("x")}},
		{},
	}
	seeds := append(plain, media...)
	for _, inner := range append(media[:1:1], plain[0], plain[2], media[2], media[4]) {
		seeds = append(seeds,
			&waE2E.Message{EphemeralMessage: &waE2E.FutureProofMessage{Message: inner}},
			&waE2E.Message{ViewOnceMessage: &waE2E.FutureProofMessage{Message: inner}},
			&waE2E.Message{ViewOnceMessageV2: &waE2E.FutureProofMessage{Message: inner}},
			&waE2E.Message{DeviceSentMessage: &waE2E.DeviceSentMessage{DestinationJID: proto.String(bobPN.String()), Message: inner}},
			// Nested as a phone sends its own disappearing view-once photo.
			&waE2E.Message{DeviceSentMessage: &waE2E.DeviceSentMessage{Message: &waE2E.Message{
				EphemeralMessage: &waE2E.FutureProofMessage{Message: &waE2E.Message{ViewOnceMessageV2Extension: &waE2E.FutureProofMessage{Message: inner}}}}}},
			// The wrappers in an order UnwrapRaw does not expect.
			&waE2E.Message{ViewOnceMessage: &waE2E.FutureProofMessage{Message: &waE2E.Message{EphemeralMessage: &waE2E.FutureProofMessage{Message: inner}}}},
		)
	}
	seeds = append(seeds,
		&waE2E.Message{DocumentWithCaptionMessage: &waE2E.FutureProofMessage{Message: media[6]}},
		&waE2E.Message{EditedMessage: &waE2E.FutureProofMessage{Message: &waE2E.Message{ProtocolMessage: &waE2E.ProtocolMessage{
			Type: waE2E.ProtocolMessage_MESSAGE_EDIT.Enum(), Key: key, EditedMessage: plain[0]}}}},
		&waE2E.Message{EphemeralMessage: &waE2E.FutureProofMessage{}},
	)
	return seeds
}

// fuzzChats are the chats a fuzzed message comes from, all bridged ones.
var fuzzChats = []types.MessageSource{
	{Chat: bobPN, Sender: bobPN},
	{Chat: bobLID, Sender: bobLID, SenderAlt: bobPN, AddressingMode: types.AddressingModeLID},
	{Chat: carlLID, Sender: carlLID},
	{Chat: bobPN, Sender: ownPN, IsFromMe: true},
	{Chat: group, Sender: bobPN, IsGroup: true},
	{Chat: group, Sender: carlLID, IsGroup: true},
	{Chat: group, Sender: ownPN, IsFromMe: true, IsGroup: true},
	{Chat: types.NewJID("1700000000", types.BroadcastServer), Sender: bobPN},
}

// FuzzIncomingMessage hands any protobuf a WhatsApp peer could send, as
// whatsmeow delivers it (unwrapped or raw) from any kind of chat, to the
// login's message handler without handleEvent's recover, and fetches the
// media of what it bridges: nothing may panic, and a message that reaches
// neither the core nor a warning in the log is one the contract lets
// pass silently (housekeeping, votes, protocol messages Matrix has no use
// for).
func FuzzIncomingMessage(f *testing.F) {
	for i, seed := range fuzzMessageSeeds() {
		data, err := proto.Marshal(seed)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data, uint8(i))
	}
	env, logs := newEnvLogged(f)
	var n int
	f.Fuzz(func(t *testing.T, data []byte, shape uint8) {
		msg := &waE2E.Message{}
		if proto.Unmarshal(data, msg) != nil {
			return // whatsmeow reports it as undecryptable instead
		}
		n++
		evt := &events.Message{
			Info: types.MessageInfo{
				MessageSource: fuzzChats[int(shape>>1)%len(fuzzChats)],
				ID:            fmt.Sprintf("FUZZ%d", n), Timestamp: msgTime, PushName: "Bob",
			},
			RawMessage: msg,
		}
		if shape&1 == 0 {
			evt.UnwrapRaw() // as whatsmeow hands messages to handlers
		}
		silentOK := mayPassSilently(msg)
		env.host.take()
		env.wa.forget()
		logs.take()
		ctx := env.cl.log.WithContext(context.Background())
		acked := env.cl.handleMessage(ctx, evt)
		_, handled := env.host.take()
		for _, out := range handled {
			fetchParts(t, ctx, out)
		}
		if acked && len(handled) == 0 && !silentOK && logs.take() == "" {
			t.Fatalf("message dropped silently: %v", msg)
		}
	})
}

// fetchParts checks the parts of a bridged event and fetches their media
// as the core would.
func fetchParts(t *testing.T, ctx context.Context, out network.Event) {
	var parts []network.Part
	switch e := out.(type) {
	case *network.Message:
		parts = e.Parts
		if len(parts) == 0 {
			t.Fatalf("message without parts: %+v", e)
		}
	case *network.Edit:
		parts = e.Parts
	}
	for _, p := range parts {
		if p.Content == nil {
			t.Fatalf("part without content in %+v", out)
		}
		if p.Media == nil {
			continue
		}
		if media, err := p.Media(ctx); err == nil {
			_ = media.Data.Close()
		}
	}
}

// housekeepingField are the fields of a message that only accompany
// others; passable adds the message types that show nothing in Matrix.
// Not in it: pins (shown as notices) and encrypted reactions (decrypted
// into reactions, or a warning says why not).
var (
	housekeepingField = map[string]bool{
		"messageContextInfo": true, "senderKeyDistributionMessage": true, "fastRatchetKeySenderKeyDistributionMessage": true,
	}
	passable = map[string]bool{
		"messageContextInfo": true, "senderKeyDistributionMessage": true, "fastRatchetKeySenderKeyDistributionMessage": true,
		"pollUpdateMessage": true, "encEventResponseMessage": true, "keepInChatMessage": true,
		"stickerSyncRmrMessage": true, "albumMessage": true,
	}
)

// shownPin says whether a pin is of a kind Ferry shows (a pin or an
// unpin for all); a pin of another kind is ignored, as it was before pins
// were shown.
func shownPin(pin *waE2E.PinInChatMessage) bool {
	switch pin.GetType() {
	case waE2E.PinInChatMessage_PIN_FOR_ALL, waE2E.PinInChatMessage_UNPIN_FOR_ALL:
		return true
	}
	return false
}

// mayPassSilently says, independently of the converter, whether a message
// has nothing a Matrix user must see: only housekeeping fields, an
// encrypted vote, an answer to an event, a pin of a kind not shown, an
// album header (with or without fields this whatsmeow does not know), or
// a protocol message other than an edit, a revoke or a timer change.
func mayPassSilently(raw *waE2E.Message) bool {
	msg := (&events.Message{RawMessage: proto.Clone(raw).(*waE2E.Message)}).UnwrapRaw().Message
	if pm := msg.GetProtocolMessage(); pm != nil {
		switch pm.GetType() {
		case waE2E.ProtocolMessage_REVOKE, waE2E.ProtocolMessage_EPHEMERAL_SETTING:
			return false
		case waE2E.ProtocolMessage_MESSAGE_EDIT:
			return pm.GetEditedMessage() == nil
		}
		return true
	}
	if msg.GetReactionMessage() != nil {
		return false
	}
	m := msg.ProtoReflect()
	fields := m.Descriptor().Fields()
	var silentType bool
	for i := 0; i < fields.Len(); i++ {
		fd := fields.Get(i)
		name := string(fd.Name())
		if m.Has(fd) && !passable[name] && (name != "pinInChatMessage" || shownPin(msg.GetPinInChatMessage())) {
			return false
		}
		silentType = silentType || (m.Has(fd) && !housekeepingField[name])
	}
	// Fields this whatsmeow does not know may be new content, unless the
	// message says what it is: a vote with a new field is still a vote.
	return silentType || len(m.GetUnknown()) == 0
}
