package waconv

import (
	"testing"

	"go.mau.fi/whatsmeow/proto/waCommon"
	"go.mau.fi/whatsmeow/proto/waE2E"
	"google.golang.org/protobuf/proto"
	"maunium.net/go/mautrix/event"

	"github.com/ferrybridge/ferry/bridge/network"
)

// TestToMatrixPin: pinning a message in a WhatsApp chat (for 24 hours,
// 7 or 30 days) and unpinning it show as a short notice replying to the
// message, where the room has it; the core leaves the reply out where it
// does not. A pin of a kind this whatsmeow does not know stays silent.
func TestToMatrixPin(t *testing.T) {
	pin := func(kind waE2E.PinInChatMessage_Type, secs uint32) *waE2E.Message {
		msg := &waE2E.Message{PinInChatMessage: &waE2E.PinInChatMessage{
			Key:  &waCommon.MessageKey{RemoteJID: proto.String(groupJID.String()), ID: proto.String("3EB0PINNED"), FromMe: proto.Bool(false)},
			Type: kind.Enum(), SenderTimestampMS: proto.Int64(1764316800000),
		}}
		if secs > 0 {
			msg.MessageContextInfo = &waE2E.MessageContextInfo{MessageAddOnDurationInSecs: proto.Uint32(secs)}
		}
		return msg
	}
	notice := func(body string) converted {
		return converted{ReplyTo: &network.MessageRef{ID: "3EB0PINNED"}, Parts: []part{{Content: &event.MessageEventContent{
			MsgType: event.MsgNotice, Body: body, Mentions: noMentions,
		}}}}
	}
	runToMatrix(t, []toMatrixCase{
		{name: "pin for 7 days", msg: pin(waE2E.PinInChatMessage_PIN_FOR_ALL, 7*86400), want: notice("📌 Pinned a message for 7 days")},
		{name: "pin for 24 hours", msg: pin(waE2E.PinInChatMessage_PIN_FOR_ALL, 86400), want: notice("📌 Pinned a message for 24 hours")},
		{name: "pin without a duration", msg: pin(waE2E.PinInChatMessage_PIN_FOR_ALL, 0), want: notice("📌 Pinned a message")},
		{name: "unpin", msg: pin(waE2E.PinInChatMessage_UNPIN_FOR_ALL, 0), want: notice("Unpinned a message")},
		{name: "unknown kind", msg: pin(waE2E.PinInChatMessage_UNKNOWN_TYPE, 0), want: converted{Kind: KindIgnored}},
		{
			name: "no key",
			msg:  &waE2E.Message{PinInChatMessage: &waE2E.PinInChatMessage{Type: waE2E.PinInChatMessage_PIN_FOR_ALL.Enum()}},
			want: converted{Parts: []part{{Content: &event.MessageEventContent{MsgType: event.MsgNotice, Body: "📌 Pinned a message", Mentions: noMentions}}}},
		},
	})
}
