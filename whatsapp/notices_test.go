package whatsapp

import (
	"strings"
	"testing"

	"go.mau.fi/whatsmeow/proto/waE2E"
	"go.mau.fi/whatsmeow/types"
	"go.mau.fi/whatsmeow/types/events"
	"google.golang.org/protobuf/proto"
	"maunium.net/go/mautrix/event"

	"github.com/ferrybridge/ferry/bridge/network"
)

// incoming is a message as whatsmeow dispatches it: raw, then unwrapped.
func incoming(id string, src types.MessageSource, raw *waE2E.Message) *events.Message {
	return (&events.Message{Info: types.MessageInfo{MessageSource: src, ID: id, Timestamp: msgTime}, RawMessage: raw}).UnwrapRaw()
}

func onlyNotice(t *testing.T, env *testEnv) (*network.Message, string) {
	t.Helper()
	_, handled := env.host.take()
	if len(handled) != 1 {
		t.Fatalf("%d events handled, want 1", len(handled))
	}
	msg, ok := handled[0].(*network.Message)
	if !ok || len(msg.Parts) != 1 {
		t.Fatalf("handled %#v", handled[0])
	}
	return msg, msg.Parts[0].Content.Body
}

func TestDisappearingTimerBecomesANotice(t *testing.T) {
	env := newEnv(t, sqliteDB(t), "")
	src := types.MessageSource{Chat: bobPN, Sender: bobPN}
	for id, c := range map[string]struct {
		seconds uint32
		want    string
	}{
		"T1": {7 * 86400, "Disappearing messages set to 7 days"},
		"T2": {86400, "Disappearing messages set to 1 day"},
		"T3": {0, "Disappearing messages turned off"},
	} {
		// The phone wraps the setting change like any message in a chat
		// with a timer.
		raw := &waE2E.Message{ProtocolMessage: &waE2E.ProtocolMessage{
			Type: waE2E.ProtocolMessage_EPHEMERAL_SETTING.Enum(), EphemeralExpiration: proto.Uint32(c.seconds),
		}}
		if !env.dispatch(incoming(id, src, raw)) {
			t.Fatal("not acknowledged")
		}
		msg, body := onlyNotice(t, env)
		if body != c.want || msg.Parts[0].Content.MsgType != event.MsgNotice || msg.Portal != dmPortal(bobPN) || msg.Sender.User != userIDOf(bobPN) {
			t.Errorf("%d s: %q (%s) in %v from %v", c.seconds, body, msg.Parts[0].Content.MsgType, msg.Portal, msg.Sender.User)
		}
	}

	// In a group the change comes as a group notification.
	env.dispatch(&events.GroupInfo{JID: group, Sender: &bobPN, Timestamp: msgTime,
		Ephemeral: &types.GroupEphemeral{IsEphemeral: true, DisappearingTimer: 90 * 86400}})
	queued, _ := env.host.take()
	if len(queued) != 1 {
		t.Fatalf("group timer: queued %+v", queued)
	}
	if msg, ok := queued[0].(*network.Message); !ok || msg.Portal != groupPortal(group) ||
		msg.Parts[0].Content.Body != "Disappearing messages set to 90 days" || msg.CreatePortal {
		t.Errorf("group timer: %#v", queued[0])
	}
}

func TestViewOnceMedia(t *testing.T) {
	viewOnce := &waE2E.Message{ViewOnceMessageV2: &waE2E.FutureProofMessage{Message: &waE2E.Message{
		ImageMessage: &waE2E.ImageMessage{
			ViewOnce: proto.Bool(true), Mimetype: proto.String("image/jpeg"), FileLength: proto.Uint64(10),
			URL: proto.String("https://mmg.whatsapp.net/x"), DirectPath: proto.String("/x"), MediaKey: []byte("k"),
			FileSHA256: []byte("s"), FileEncSHA256: []byte("e"),
		},
	}}}
	src := types.MessageSource{Chat: bobPN, Sender: bobPN}

	t.Run("off", func(t *testing.T) {
		env := newEnv(t, sqliteDB(t), "")
		env.dispatch(incoming("V1", src, viewOnce))
		msg, body := onlyNotice(t, env)
		if !strings.HasPrefix(body, "a view-once photo was not bridged (view_once is off)") || msg.Parts[0].Content.MsgType != event.MsgNotice || msg.ID != "V1" {
			t.Errorf("view-once photo with view_once off: %q (%s)", body, msg.Parts[0].Content.MsgType)
		}
		// A view-once voice message says what it was.
		env.dispatch(incoming("V2", src, &waE2E.Message{ViewOnceMessage: &waE2E.FutureProofMessage{Message: &waE2E.Message{
			AudioMessage: &waE2E.AudioMessage{ViewOnce: proto.Bool(true), PTT: proto.Bool(true)},
		}}}))
		if _, body = onlyNotice(t, env); !strings.HasPrefix(body, "a view-once voice message was not bridged") {
			t.Errorf("view-once voice message: %q", body)
		}
	})
	t.Run("on", func(t *testing.T) {
		env := newEnv(t, sqliteDB(t), "view_once: true")
		env.dispatch(incoming("V1", src, viewOnce))
		msg, _ := onlyNotice(t, env)
		if msg.Parts[0].Content.MsgType != event.MsgImage {
			t.Errorf("view-once photo with view_once on: %s %q", msg.Parts[0].Content.MsgType, msg.Parts[0].Content.Body)
		}
	})
}

func TestViewOnceConfig(t *testing.T) {
	if _, err := parseYAML(t, "view_once: maybe"); err == nil || !strings.Contains(err.Error(), "whatsapp.view_once:") {
		t.Errorf("view_once: maybe: %v", err)
	}
	if cfg, err := parseYAML(t, ""); err != nil || cfg.ViewOnce {
		t.Errorf("default: %v, %v", cfg.ViewOnce, err)
	}
}
