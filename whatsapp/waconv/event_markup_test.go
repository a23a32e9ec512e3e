package waconv

import (
	"testing"

	"go.mau.fi/whatsmeow/proto/waE2E"
	"google.golang.org/protobuf/proto"
	"maunium.net/go/mautrix/event"
	"maunium.net/go/mautrix/id"
)

// TestToMatrixEventDescriptionAndPlace: an event's description is
// WhatsApp text like any message's, its markup and mentions converted as
// an ordinary text message's are; a place WhatsApp gives only by its
// coordinates shows them, linked as a geo: URI, and a named place with
// coordinates links its name to them.
func TestToMatrixEventDescriptionAndPlace(t *testing.T) {
	runToMatrix(t, []toMatrixCase{
		{
			name: "markup and a mention in the description, coordinates only",
			msg: &waE2E.Message{EventMessage: &waE2E.EventMessage{
				Name:        proto.String("Climbing"),
				Description: proto.String("*Bring* _shoes_ ~and~ ```chalk```\nask @4915112345678 <3"),
				Location:    &waE2E.LocationMessage{DegreesLatitude: proto.Float64(52.52), DegreesLongitude: proto.Float64(13.405)},
				ContextInfo: &waE2E.ContextInfo{MentionedJID: []string{aliceJID.String()}},
			}},
			want: converted{Parts: []part{{Content: &event.MessageEventContent{
				MsgType: event.MsgText,
				Body:    "Event: Climbing\n*Bring* _shoes_ ~and~ ```chalk```\nask Alice <3\nLocation: 52.52, 13.405 (geo:52.52,13.405)\nOpen WhatsApp to answer.",
				Format:  event.FormatHTML,
				FormattedBody: "<p>Event: <strong>Climbing</strong></p>" +
					"<div><strong>Bring</strong> <em>shoes</em> <del>and</del> <code>chalk</code><br>ask " +
					`<a href="https://matrix.to/#/` + string(aliceMX) + `">Alice</a> &lt;3</div>` +
					`<p>Location: <a href="geo:52.52,13.405">52.52, 13.405</a></p>` +
					"<p>Open WhatsApp to answer.</p>",
				Mentions: &event.Mentions{UserIDs: []id.UserID{aliceMX}},
			}}}},
		},
		{
			name: "named place with coordinates, plain description",
			msg: &waE2E.Message{EventMessage: &waE2E.EventMessage{
				Name:        proto.String("Dinner"),
				Description: proto.String("at 8 & on time"),
				Location: &waE2E.LocationMessage{Name: proto.String("Luigi's"), Address: proto.String("Main St 2"),
					DegreesLatitude: proto.Float64(-33.8), DegreesLongitude: proto.Float64(151)},
			}},
			want: converted{Parts: []part{{Content: &event.MessageEventContent{
				MsgType: event.MsgText,
				Body:    "Event: Dinner\nat 8 & on time\nLocation: Luigi's\nOpen WhatsApp to answer.",
				Format:  event.FormatHTML,
				FormattedBody: "<p>Event: <strong>Dinner</strong></p><p>at 8 &amp; on time</p>" +
					`<p>Location: <a href="geo:-33.8,151">Luigi&#39;s</a></p><p>Open WhatsApp to answer.</p>`,
				Mentions: noMentions,
			}}}},
		},
	})
}
