package waconv

import (
	"html"
	"strings"
	"time"

	"go.mau.fi/whatsmeow/proto/waE2E"
	"maunium.net/go/mautrix/event"

	"github.com/ferrybridge/ferry/bridge/network"
)

// eventPart shows a WhatsApp event (an invitation with a name, a
// description, a time and a place) as text: Matrix has no event to map
// it to, and answers to it are given on the phone (Ferry skips them).
// Times are UTC in ISO 8601 form, as the sender's time zone is unknown.
func eventPart(ev *waE2E.EventMessage) network.Part {
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
	if desc := strings.TrimSpace(ev.GetDescription()); desc != "" {
		body = append(body, desc)
		formatted += "<p>" + strings.ReplaceAll(html.EscapeString(desc), "\n", "<br>") + "</p>"
	}
	var details []string
	if ev.StartTime != nil {
		details = append(details, "Starts: "+eventTime(ev.GetStartTime()))
	}
	if ev.EndTime != nil {
		details = append(details, "Ends: "+eventTime(ev.GetEndTime()))
	}
	if place := eventPlace(ev.GetLocation()); place != "" {
		details = append(details, "Location: "+place)
	}
	if link := strings.TrimSpace(ev.GetJoinLink()); link != "" {
		details = append(details, "Call link: "+link)
	}
	if len(details) > 0 {
		body = append(body, details...)
		escaped := make([]string, len(details))
		for i, d := range details {
			escaped[i] = html.EscapeString(d)
		}
		formatted += "<p>" + strings.Join(escaped, "<br>") + "</p>"
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
	}}
}

// eventTime formats an event's time, in seconds since 1970, as UTC.
func eventTime(sec int64) string {
	return time.Unix(sec, 0).UTC().Format(time.RFC3339)
}

// eventPlace names an event's location: its name, else its address.
func eventPlace(loc *waE2E.LocationMessage) string {
	if name := strings.TrimSpace(loc.GetName()); name != "" {
		return name
	}
	return strings.TrimSpace(loc.GetAddress())
}
