package waconv

import (
	"testing"
	"time"

	"go.mau.fi/whatsmeow/proto/waE2E"
	"google.golang.org/protobuf/proto"
	"maunium.net/go/mautrix/event"
	"maunium.net/go/mautrix/id"

	"github.com/ferrybridge/ferry/bridge/network"
)

// TestToMatrixGroupInvite: an invitation to a WhatsApp group (an admin
// invites someone they could not add) names the group and carries a
// caption, formatted and with mentions as a text message's. It shows
// them, with when the invitation expires, and that it is accepted on
// the phone, instead of "Unsupported". A community's says so; one
// without a name still says it invites to a group; a reply stays one.
func TestToMatrixGroupInvite(t *testing.T) {
	expires := time.Date(2026, 12, 1, 8, 0, 0, 0, time.UTC)
	runToMatrix(t, []toMatrixCase{
		{
			name: "named group with a caption and an expiry, as a reply",
			msg: &waE2E.Message{GroupInviteMessage: &waE2E.GroupInviteMessage{
				GroupJID: proto.String(groupJID.String()), InviteCode: proto.String("AbCdEf123"),
				InviteExpiration: proto.Int64(expires.Unix()), GroupName: proto.String("Climbing <Fri>"),
				Caption:     proto.String("Join us, *@4915112345678* is in too"),
				ContextInfo: &waE2E.ContextInfo{StanzaID: proto.String("3EB0ASKED"), MentionedJID: []string{aliceJID.String()}},
			}},
			want: converted{ReplyTo: &network.MessageRef{ID: "3EB0ASKED"}, Parts: []part{{Content: &event.MessageEventContent{
				MsgType: event.MsgText,
				Body: "Invitation to join the WhatsApp group Climbing <Fri>\nJoin us, *Alice* is in too\n" +
					"Expires: 2026-12-01T08:00:00Z\nOpen WhatsApp to accept it.",
				Format: event.FormatHTML,
				FormattedBody: "<p>Invitation to join the WhatsApp group <strong>Climbing &lt;Fri&gt;</strong></p>" +
					`<div>Join us, <strong><a href="https://matrix.to/#/` + string(aliceMX) + `">Alice</a></strong> is in too</div>` +
					"<p>Expires: 2026-12-01T08:00:00Z</p><p>Open WhatsApp to accept it.</p>",
				Mentions: &event.Mentions{UserIDs: []id.UserID{aliceMX}},
			}}}},
		},
		{
			name: "community without a caption",
			msg: &waE2E.Message{GroupInviteMessage: &waE2E.GroupInviteMessage{
				GroupJID: proto.String(groupJID.String()), GroupName: proto.String("Neighbours"),
				GroupType: waE2E.GroupInviteMessage_PARENT.Enum(),
			}},
			want: converted{Parts: []part{{Content: &event.MessageEventContent{
				MsgType: event.MsgText,
				Body:    "Invitation to join the WhatsApp community Neighbours\nOpen WhatsApp to accept it.",
				Format:  event.FormatHTML,
				FormattedBody: "<p>Invitation to join the WhatsApp community <strong>Neighbours</strong></p>" +
					"<p>Open WhatsApp to accept it.</p>",
				Mentions: noMentions,
			}}}},
		},
		{
			name: "no name",
			msg:  &waE2E.Message{GroupInviteMessage: &waE2E.GroupInviteMessage{GroupJID: proto.String(groupJID.String())}},
			want: converted{Parts: []part{{Content: &event.MessageEventContent{
				MsgType:       event.MsgText,
				Body:          "Invitation to join a WhatsApp group\nOpen WhatsApp to accept it.",
				Format:        event.FormatHTML,
				FormattedBody: "<p>Invitation to join a WhatsApp group</p><p>Open WhatsApp to accept it.</p>",
				Mentions:      noMentions,
			}}}},
		},
	})
}
