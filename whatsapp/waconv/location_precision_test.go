package waconv

import (
	"math"
	"testing"

	"go.mau.fi/whatsmeow/proto/waE2E"
	"google.golang.org/protobuf/proto"
	"maunium.net/go/mautrix/event"
)

// TestToMatrixCoordinatesShowSixDecimals: a sender's coordinates are any
// floats; written in full, a tiny or very precise one runs to hundreds
// of digits (5e-324 is 0.000…5 with 323 zeros). Six decimals of a degree
// (about 0.1 m) show, without trailing zeros, in the body and the geo:
// URI of a location and in an event's place alike.
func TestToMatrixCoordinatesShowSixDecimals(t *testing.T) {
	tiny := math.SmallestNonzeroFloat64
	location := func(lat, long float64) *waE2E.Message {
		return &waE2E.Message{LocationMessage: &waE2E.LocationMessage{DegreesLatitude: proto.Float64(lat), DegreesLongitude: proto.Float64(long)}}
	}
	at := func(geo string) converted {
		return converted{Parts: []part{{
			Content: &event.MessageEventContent{MsgType: event.MsgLocation, Body: "Location\n" + geo, GeoURI: geo, Mentions: noMentions},
			Extra: map[string]any{
				"org.matrix.msc3488.location": map[string]any{"uri": geo, "description": ""},
				"org.matrix.msc3488.asset":    map[string]any{"type": "m.self"},
			},
		}}}
	}
	invitation := func(lat, long float64) *waE2E.Message {
		return &waE2E.Message{EventMessage: &waE2E.EventMessage{Name: proto.String("Walk"),
			Location: &waE2E.LocationMessage{DegreesLatitude: proto.Float64(lat), DegreesLongitude: proto.Float64(long)}}}
	}
	runToMatrix(t, []toMatrixCase{
		{name: "the smallest float", msg: location(tiny, 13.4), want: at("geo:0,13.4")},
		{name: "a tiny negative one", msg: location(-tiny, -1e-7), want: at("geo:0,0")},
		{name: "more decimals than a map needs", msg: location(52.520008123456789, -0.12345650000001), want: at("geo:52.520008,-0.123457")},
		{name: "whole degrees", msg: location(-33, 151), want: at("geo:-33,151")},
		{name: "an event's place", msg: invitation(1.0000004, tiny), want: converted{Parts: []part{{Content: &event.MessageEventContent{
			MsgType: event.MsgText, Body: "Event: Walk\nLocation: 1, 0 (geo:1,0)\nOpen WhatsApp to answer.", Format: event.FormatHTML,
			FormattedBody: `<p>Event: <strong>Walk</strong></p><p>Location: <a href="geo:1,0">1, 0</a></p><p>Open WhatsApp to answer.</p>`,
			Mentions:      noMentions,
		}}}}},
	})
}
