package waconv

import (
	"testing"
	"time"

	"go.mau.fi/whatsmeow/proto/waE2E"
	"google.golang.org/protobuf/proto"
	"maunium.net/go/mautrix/event"

	"github.com/ferrybridge/ferry/bridge/network"
)

// TestToMatrixEvent: a WhatsApp event (an invitation) is text a Matrix
// user can read, not "Unsupported": its name in bold, its description,
// its times in UTC ISO form and its place; a reply stays a reply.
func TestToMatrixEvent(t *testing.T) {
	start := time.Date(2026, 12, 5, 9, 30, 0, 0, time.UTC)
	runToMatrix(t, []toMatrixCase{
		{
			name: "full",
			msg: &waE2E.Message{EventMessage: &waE2E.EventMessage{
				Name:        proto.String("Climbing <day>"),
				Description: proto.String("Bring shoes\n& chalk"),
				StartTime:   proto.Int64(start.Unix()),
				EndTime:     proto.Int64(start.Add(3 * time.Hour).Unix()),
				Location:    &waE2E.LocationMessage{Name: proto.String("Boulderhalle"), Address: proto.String("Hauptstr. 1")},
				ContextInfo: &waE2E.ContextInfo{StanzaID: proto.String("3EB0QUOTED")},
			}},
			want: converted{
				ReplyTo: &network.MessageRef{ID: "3EB0QUOTED"},
				Parts: []part{{Content: &event.MessageEventContent{
					MsgType: event.MsgText,
					Body: "Event: Climbing <day>\nBring shoes\n& chalk\nStarts: 2026-12-05T09:30:00Z\n" +
						"Ends: 2026-12-05T12:30:00Z\nLocation: Boulderhalle\nOpen WhatsApp to answer.",
					Format: event.FormatHTML,
					FormattedBody: "<p>Event: <strong>Climbing &lt;day&gt;</strong></p><p>Bring shoes<br>&amp; chalk</p>" +
						"<p>Starts: 2026-12-05T09:30:00Z<br>Ends: 2026-12-05T12:30:00Z<br>Location: Boulderhalle</p>" +
						"<p>Open WhatsApp to answer.</p>",
					Mentions: noMentions,
				}}},
			},
		},
		{
			name: "cancelled, address only",
			msg: &waE2E.Message{EventMessage: &waE2E.EventMessage{
				Name: proto.String("Dinner"), IsCanceled: proto.Bool(true), StartTime: proto.Int64(0),
				Location: &waE2E.LocationMessage{Address: proto.String("Main St 2")},
			}},
			want: converted{Parts: []part{{Content: &event.MessageEventContent{
				MsgType:       event.MsgText,
				Body:          "Cancelled event: Dinner\nStarts: 1970-01-01T00:00:00Z\nLocation: Main St 2",
				Format:        event.FormatHTML,
				FormattedBody: "<p>Cancelled event: <strong>Dinner</strong></p><p>Starts: 1970-01-01T00:00:00Z<br>Location: Main St 2</p>",
				Mentions:      noMentions,
			}}}},
		},
		{
			name: "empty",
			msg:  &waE2E.Message{EventMessage: &waE2E.EventMessage{}},
			want: converted{Parts: []part{{Content: &event.MessageEventContent{
				MsgType:       event.MsgText,
				Body:          "Event: (no name)\nOpen WhatsApp to answer.",
				Format:        event.FormatHTML,
				FormattedBody: "<p>Event: <strong>(no name)</strong></p><p>Open WhatsApp to answer.</p>",
				Mentions:      noMentions,
			}}}},
		},
	})
}
