package waconv

import (
	"math"
	"testing"

	"go.mau.fi/whatsmeow/proto/waE2E"
	"google.golang.org/protobuf/proto"
	"maunium.net/go/mautrix/event"
)

// TestToMatrixLocationOffTheMap: a location's coordinates are two floats
// from the sender's phone. Ones no map knows (NaN, infinite, beyond
// ±90°/±180°) make no m.location, whose geo: URI ("geo:NaN,+Inf") a
// client cannot read: the location shows as a notice with its name and
// a pointer to WhatsApp, so it is not lost either.
func TestToMatrixLocationOffTheMap(t *testing.T) {
	notice := func(body string) part {
		return part{Content: &event.MessageEventContent{MsgType: event.MsgNotice, Body: body, Mentions: noMentions}}
	}
	runToMatrix(t, []toMatrixCase{
		{
			name: "named place, NaN",
			msg: &waE2E.Message{LocationMessage: &waE2E.LocationMessage{
				DegreesLatitude: proto.Float64(math.NaN()), DegreesLongitude: proto.Float64(13.4), Name: proto.String("Berlin"),
			}},
			want: converted{Parts: []part{notice("Location: Berlin (its coordinates are not valid; open WhatsApp to see it)")}},
		},
		{
			name: "latitude beyond the pole",
			msg:  &waE2E.Message{LocationMessage: &waE2E.LocationMessage{DegreesLatitude: proto.Float64(91), DegreesLongitude: proto.Float64(0)}},
			want: converted{Parts: []part{notice("Location (its coordinates are not valid; open WhatsApp to see it)")}},
		},
		{
			name: "live location, infinite longitude",
			msg: &waE2E.Message{LiveLocationMessage: &waE2E.LiveLocationMessage{
				DegreesLatitude: proto.Float64(1), DegreesLongitude: proto.Float64(math.Inf(-1)), Caption: proto.String("here"),
			}},
			want: converted{Parts: []part{
				notice("Live location: here (its coordinates are not valid; open WhatsApp to see it)"),
				{ID: "live", Content: &event.MessageEventContent{MsgType: event.MsgNotice,
					Body: "Started sharing a live location; open WhatsApp to follow it", Mentions: noMentions}},
			}},
		},
	})
}
