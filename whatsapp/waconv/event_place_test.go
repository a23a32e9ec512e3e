package waconv

import (
	"math"
	"testing"

	"go.mau.fi/whatsmeow/proto/waE2E"
	"google.golang.org/protobuf/proto"
	"maunium.net/go/mautrix/event"
)

// TestToMatrixEventPlaceBadCoordinates: an event's place comes from the
// sender's phone as two floats. Ones no map knows (NaN, infinite, beyond
// ±90°/±180°) are no place: they must not show as "NaN, +Inf" or as a
// 300-digit number, nor become a geo: link. A named place keeps its name,
// unlinked; one with nothing else shows no "Location:" line.
func TestToMatrixEventPlaceBadCoordinates(t *testing.T) {
	plain := func(body, formatted string) converted {
		return converted{Parts: []part{{Content: &event.MessageEventContent{
			MsgType: event.MsgText, Body: body, Format: event.FormatHTML, FormattedBody: formatted, Mentions: noMentions,
		}}}}
	}
	unnamed := plain("Event: Walk\nOpen WhatsApp to answer.",
		"<p>Event: <strong>Walk</strong></p><p>Open WhatsApp to answer.</p>")
	named := plain("Event: Walk\nLocation: Park\nOpen WhatsApp to answer.",
		"<p>Event: <strong>Walk</strong></p><p>Location: Park</p><p>Open WhatsApp to answer.</p>")
	at := func(name string, lat, long float64) *waE2E.Message {
		loc := &waE2E.LocationMessage{DegreesLatitude: proto.Float64(lat), DegreesLongitude: proto.Float64(long)}
		if name != "" {
			loc.Name = proto.String(name)
		}
		return &waE2E.Message{EventMessage: &waE2E.EventMessage{Name: proto.String("Walk"), Location: loc}}
	}
	runToMatrix(t, []toMatrixCase{
		{name: "NaN and infinity", msg: at("", math.NaN(), math.Inf(1)), want: unnamed},
		{name: "latitude beyond the pole", msg: at("", 1e300, 13.4), want: unnamed},
		{name: "longitude beyond ±180", msg: at("", 52.5, -500), want: unnamed},
		{name: "named place, NaN", msg: at("Park", math.NaN(), 13.4), want: named},
		{name: "named place, infinite longitude", msg: at("Park", 52.5, math.Inf(-1)), want: named},
	})
}
