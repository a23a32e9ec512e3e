package waconv

import (
	"html"
	"strings"
	"time"

	"go.mau.fi/whatsmeow/proto/waE2E"
	"maunium.net/go/mautrix/event"
	"maunium.net/go/mautrix/id"

	"github.com/ferrybridge/ferry/bridge/network"
)

// eventPart shows a WhatsApp event (an invitation with a name, a
// description, a time and a place) as text: Matrix has no event to map
// it to, and answers to it are given on the phone (Ferry skips them).
// Times are UTC in ISO 8601 form, as the sender's time zone is unknown.
// The description is WhatsApp text, its markup and mentions converted as
// a text message's are.
func eventPart(ev *waE2E.EventMessage, deps Deps) network.Part {
	label := "Event"
	if ev.GetIsCanceled() {
		label = "Cancelled event"
	}
	name := strings.TrimSpace(ev.GetName())
	if name == "" {
		name = "(no name)"
	}
	body := []string{label + ": " + name}
	formatted := "<p>" + label + ": <strong>" + html.EscapeString(name) + "</strong></p>"
	var mentions []id.UserID
	if desc := strings.TrimSpace(ev.GetDescription()); desc != "" {
		f := whatsAppToMatrix(desc, mentionTargets(ev.GetContextInfo(), deps))
		body = append(body, f.body)
		mentions = f.mentions
		formatted += markupBlock(f)
	}
	var details, detailsHTML []string
	add := func(text, htmlText string) {
		details = append(details, text)
		detailsHTML = append(detailsHTML, htmlText)
	}
	if ev.StartTime != nil {
		text := "Starts: " + eventTime(ev.GetStartTime())
		add(text, html.EscapeString(text))
	}
	if ev.EndTime != nil {
		text := "Ends: " + eventTime(ev.GetEndTime())
		add(text, html.EscapeString(text))
	}
	if text, htmlText := eventPlace(ev.GetLocation()); text != "" {
		add("Location: "+text, "Location: "+htmlText)
	}
	if link := linkText(ev.GetJoinLink()); link != "" {
		text := "Call link: " + link
		add(text, html.EscapeString(text))
	}
	if len(details) > 0 {
		body = append(body, details...)
		formatted += "<p>" + strings.Join(detailsHTML, "<br>") + "</p>"
	}
	if !ev.GetIsCanceled() {
		body = append(body, "Open WhatsApp to answer.")
		formatted += "<p>Open WhatsApp to answer.</p>"
	}
	return network.Part{Content: &event.MessageEventContent{
		MsgType:       event.MsgText,
		Body:          strings.Join(body, "\n"),
		Format:        event.FormatHTML,
		FormattedBody: formatted,
		Mentions:      &event.Mentions{UserIDs: mentions},
	}}
}

// eventTime formats an event's time, in seconds since 1970, as UTC.
func eventTime(sec int64) string {
	return time.Unix(sec, 0).UTC().Format(time.RFC3339)
}

// eventPlace names an event's location, as text and as HTML: its name,
// else its address, else (a place picked on the map) its coordinates.
// With coordinates, the HTML links the place to them as a geo: URI, as a
// location message carries one; the coordinates alone also show in the
// text, as a client may drop a link it does not know.
func eventPlace(loc *waE2E.LocationMessage) (text, htmlText string) {
	text = linkText(loc.GetName())
	if text == "" {
		text = linkText(loc.GetAddress())
	}
	lat, long := loc.GetDegreesLatitude(), loc.GetDegreesLongitude()
	if lat == 0 && long == 0 || !onMap(lat, long) {
		// Unset (the proto getters are nil-safe), or nothing a place
		// picked on a map gives: no link, and no "NaN, +Inf" or
		// 300-digit number from a sender's odd floats.
		return text, html.EscapeString(text)
	}
	geo := "geo:" + formatCoord(lat) + "," + formatCoord(long)
	label := text
	if text == "" {
		label = formatCoord(lat) + ", " + formatCoord(long)
		text = label + " (" + geo + ")"
	}
	return text, `<a href="` + html.EscapeString(geo) + `">` + html.EscapeString(label) + "</a>"
}

// onMap says whether lat and long are coordinates on Earth (WGS 84, as
// a geo: URI takes them); NaN and infinities are not.
func onMap(lat, long float64) bool {
	return lat >= -90 && lat <= 90 && long >= -180 && long <= 180
}
