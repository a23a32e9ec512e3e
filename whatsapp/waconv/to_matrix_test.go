package waconv

import (
	"context"
	"encoding/json"
	"os"
	"reflect"
	"testing"
	"time"

	"go.mau.fi/whatsmeow"
	"go.mau.fi/whatsmeow/proto/waCommon"
	"go.mau.fi/whatsmeow/proto/waE2E"
	"go.mau.fi/whatsmeow/types"
	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"
	"maunium.net/go/mautrix/event"
	"maunium.net/go/mautrix/id"

	"github.com/ferrybridge/ferry/bridge/network"
)

var (
	groupJID = types.NewJID("120363025246125486", types.GroupServer)
	aliceJID = types.NewJID("4915112345678", types.DefaultUserServer)
	bobLID   = types.NewJID("123456789012345", types.HiddenUserServer)
	aliceMX  = id.UserID("@whatsapp_4915112345678:example.org")
	bobMX    = id.UserID("@whatsapp_lid-123456789012345:example.org")
)

func testInfo() *types.MessageInfo {
	return &types.MessageInfo{
		MessageSource: types.MessageSource{
			Chat: groupJID, Sender: aliceJID, IsGroup: true,
			AddressingMode: types.AddressingModePN, SenderAlt: types.NewJID("98765432109876", types.HiddenUserServer),
		},
		ID:        "3EB0C767D26A1D2B4F7E",
		Type:      "text",
		PushName:  "Alice",
		Timestamp: time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC),
	}
}

func testDeps(downloaded *[]whatsmeow.DownloadableMessage) Deps {
	return Deps{
		DownloadToFile: func(_ context.Context, msg whatsmeow.DownloadableMessage, f *os.File) error {
			if downloaded != nil {
				*downloaded = append(*downloaded, msg)
			}
			_, err := f.Write([]byte("file-bytes"))
			return err
		},
		Mention: func(jid types.JID) (string, id.UserID, bool) {
			switch jid {
			case aliceJID:
				return "Alice", aliceMX, true
			case bobLID:
				return "Bob", bobMX, true
			}
			return "", "", false
		},
	}
}

var noMentions = &event.Mentions{}

// part is the comparable half of a network.Part.
type part struct {
	ID       network.PartID
	Content  *event.MessageEventContent
	Extra    map[string]any
	HasMedia bool
}

type converted struct {
	Parts   []part
	ReplyTo *network.MessageRef
	Kind    Kind
	Target  network.MessageID
	Emoji   string
}

func toComparable(c *Converted) converted {
	out := converted{ReplyTo: c.ReplyTo, Kind: c.Kind, Target: c.Target, Emoji: c.Emoji}
	for _, p := range c.Parts {
		out.Parts = append(out.Parts, part{ID: p.ID, Content: p.Content, Extra: p.Extra, HasMedia: p.Media != nil})
	}
	return out
}

func dump(v any) string {
	b, _ := json.MarshalIndent(v, "", "  ")
	return string(b)
}

// toMatrixCase is one WhatsApp message and what Matrix must get.
type toMatrixCase struct {
	name string
	msg  *waE2E.Message
	info func(*types.MessageInfo)
	want converted
}

func runToMatrix(t *testing.T, tests []toMatrixCase) {
	t.Helper()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			info := testInfo()
			if tt.info != nil {
				tt.info(info)
			}
			got, err := ToMatrix(context.Background(), tt.msg, info, testDeps(nil))
			if err != nil {
				t.Fatal(err)
			}
			if g := toComparable(got); !reflect.DeepEqual(g, tt.want) {
				t.Errorf("got  %s\nwant %s", dump(g), dump(tt.want))
			}
		})
	}
}

func TestToMatrixText(t *testing.T) {
	runToMatrix(t, []toMatrixCase{
		{
			name: "conversation",
			msg:  &waE2E.Message{Conversation: proto.String("hello <world>")},
			want: converted{Parts: []part{{Content: &event.MessageEventContent{MsgType: event.MsgText, Body: "hello <world>", Mentions: noMentions}}}},
		},
		{
			name: "extended text with markup, mentions, link and reply",
			msg: &waE2E.Message{ExtendedTextMessage: &waE2E.ExtendedTextMessage{
				Text: proto.String("Hi @4915112345678 and @123456789012345, *see* https://example.com/a_b"),
				ContextInfo: &waE2E.ContextInfo{
					StanzaID: proto.String("3EB0QUOTED"), Participant: proto.String(bobLID.String()),
					QuotedMessage: &waE2E.Message{Conversation: proto.String("question?")},
					MentionedJID:  []string{aliceJID.String(), bobLID.String(), "bogus@"},
				},
			}},
			want: converted{
				ReplyTo: &network.MessageRef{ID: "3EB0QUOTED"},
				Parts: []part{{Content: &event.MessageEventContent{
					MsgType: event.MsgText,
					Body:    "Hi Alice and Bob, *see* https://example.com/a_b",
					Format:  event.FormatHTML,
					FormattedBody: `Hi <a href="https://matrix.to/#/@whatsapp_4915112345678:example.org">Alice</a> and ` +
						`<a href="https://matrix.to/#/@whatsapp_lid-123456789012345:example.org">Bob</a>, <strong>see</strong> ` +
						`<a href="https://example.com/a_b">https://example.com/a_b</a>`,
					Mentions: &event.Mentions{UserIDs: []id.UserID{aliceMX, bobMX}},
				}}},
			},
		},
		{
			name: "ephemeral and device-sent wrappers",
			msg: &waE2E.Message{DeviceSentMessage: &waE2E.DeviceSentMessage{
				DestinationJID: proto.String(groupJID.String()),
				Message: &waE2E.Message{EphemeralMessage: &waE2E.FutureProofMessage{Message: &waE2E.Message{
					ExtendedTextMessage: &waE2E.ExtendedTextMessage{Text: proto.String("_vanishing_")},
				}}},
			}},
			want: converted{Parts: []part{{Content: &event.MessageEventContent{
				MsgType: event.MsgText, Body: "_vanishing_", Format: event.FormatHTML, FormattedBody: "<em>vanishing</em>", Mentions: noMentions,
			}}}},
		},
		{
			name: "reaction",
			msg: &waE2E.Message{ReactionMessage: &waE2E.ReactionMessage{
				Key:  &waCommon.MessageKey{RemoteJID: proto.String(groupJID.String()), FromMe: proto.Bool(false), ID: proto.String("3EB0TARGET")},
				Text: proto.String("❤"), SenderTimestampMS: proto.Int64(1772366400000),
			}},
			want: converted{Kind: KindReaction, Target: "3EB0TARGET", Emoji: "❤\ufe0f"},
		},
		{
			name: "reaction removal",
			msg: &waE2E.Message{ReactionMessage: &waE2E.ReactionMessage{
				Key: &waCommon.MessageKey{ID: proto.String("3EB0TARGET")}, Text: proto.String(""),
			}},
			want: converted{Kind: KindReaction, Target: "3EB0TARGET"},
		},
		{
			name: "revoke",
			msg: &waE2E.Message{ProtocolMessage: &waE2E.ProtocolMessage{
				Type: waE2E.ProtocolMessage_REVOKE.Enum(),
				Key:  &waCommon.MessageKey{RemoteJID: proto.String(groupJID.String()), FromMe: proto.Bool(true), ID: proto.String("3EB0GONE")},
			}},
			info: func(i *types.MessageInfo) { i.Edit = types.EditAttributeSenderRevoke },
			want: converted{Kind: KindRevoke, Target: "3EB0GONE"},
		},
		{
			name: "edit, as delivered wrapped",
			msg: &waE2E.Message{EditedMessage: &waE2E.FutureProofMessage{Message: &waE2E.Message{ProtocolMessage: &waE2E.ProtocolMessage{
				Type: waE2E.ProtocolMessage_MESSAGE_EDIT.Enum(),
				Key:  &waCommon.MessageKey{RemoteJID: proto.String(groupJID.String()), FromMe: proto.Bool(false), ID: proto.String("3EB0OLD")},
				EditedMessage: &waE2E.Message{ExtendedTextMessage: &waE2E.ExtendedTextMessage{
					Text:        proto.String("fixed *typo* @4915112345678"),
					ContextInfo: &waE2E.ContextInfo{MentionedJID: []string{aliceJID.String()}},
				}},
				TimestampMS: proto.Int64(1772366460000),
			}}}},
			info: func(i *types.MessageInfo) { i.Edit = types.EditAttributeMessageEdit },
			want: converted{Kind: KindEdit, Target: "3EB0OLD", Parts: []part{{Content: &event.MessageEventContent{
				MsgType: event.MsgText, Body: "fixed *typo* Alice", Format: event.FormatHTML,
				FormattedBody: `fixed <strong>typo</strong> <a href="https://matrix.to/#/@whatsapp_4915112345678:example.org">Alice</a>`,
				Mentions:      &event.Mentions{UserIDs: []id.UserID{aliceMX}},
			}}}},
		},
		{
			name: "newsletter edit",
			msg:  &waE2E.Message{Conversation: proto.String("new text")},
			info: func(i *types.MessageInfo) { i.Edit = types.EditAttributeAdminEdit },
			want: converted{Kind: KindEdit, Target: "3EB0C767D26A1D2B4F7E", Parts: []part{{Content: &event.MessageEventContent{
				MsgType: event.MsgText, Body: "new text", Mentions: noMentions,
			}}}},
		},
		{
			name: "unknown type",
			msg: &waE2E.Message{ProductMessage: &waE2E.ProductMessage{BusinessOwnerJID: proto.String(aliceJID.String())},
				MessageContextInfo: &waE2E.MessageContextInfo{}},
			want: converted{Parts: []part{{Content: &event.MessageEventContent{
				MsgType: event.MsgNotice, Body: "Unsupported WhatsApp message type productMessage; open WhatsApp to see it", Mentions: noMentions,
			}}}},
		},
		{
			name: "type newer than whatsmeow",
			msg:  unknownFieldMessage(),
			want: converted{Parts: []part{{Content: &event.MessageEventContent{
				MsgType: event.MsgNotice, Body: "Unsupported WhatsApp message type unknown; open WhatsApp to see it", Mentions: noMentions,
			}}}},
		},
		{
			name: "sender key distribution only",
			msg: &waE2E.Message{SenderKeyDistributionMessage: &waE2E.SenderKeyDistributionMessage{
				GroupID: proto.String(groupJID.String()), AxolotlSenderKeyDistributionMessage: []byte{1},
			}},
			want: converted{Kind: KindIgnored},
		},
		{
			name: "ephemeral setting",
			msg: &waE2E.Message{ProtocolMessage: &waE2E.ProtocolMessage{
				Type: waE2E.ProtocolMessage_EPHEMERAL_SETTING.Enum(), EphemeralExpiration: proto.Uint32(86400),
			}},
			want: converted{Kind: KindIgnored},
		},
		{
			name: "poll vote",
			msg:  &waE2E.Message{PollUpdateMessage: &waE2E.PollUpdateMessage{}},
			want: converted{Kind: KindIgnored},
		},
	})
}

func unknownFieldMessage() *waE2E.Message {
	raw := protowire.AppendTag(nil, 9999, protowire.BytesType)
	raw = protowire.AppendBytes(raw, []byte("future"))
	msg := &waE2E.Message{}
	if err := proto.Unmarshal(raw, msg); err != nil {
		panic(err)
	}
	return msg
}

func TestToMatrixNil(t *testing.T) {
	got, err := ToMatrix(context.Background(), nil, nil, Deps{})
	if err != nil || got.Kind != KindIgnored || got.Parts != nil {
		t.Fatalf("got %+v, %v", got, err)
	}
}
