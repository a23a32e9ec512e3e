package whatsapp

import (
	"fmt"
	"time"

	"go.mau.fi/whatsmeow/proto/waE2E"
	"go.mau.fi/whatsmeow/types/events"
	"maunium.net/go/mautrix/event"

	"github.com/ferrybridge/ferry/bridge/network"
)

// Messages that are not bridged as they are but shown as a notice in the
// chat: disappearing-timer changes and view-once media (unless enabled).

// specialNotice is the notice text standing in for msg, or "" when msg is
// bridged as usual.
func (c *Client) specialNotice(evt *events.Message, msg *waE2E.Message) string {
	if pm := msg.GetProtocolMessage(); pm != nil && pm.GetType() == waE2E.ProtocolMessage_EPHEMERAL_SETTING {
		return timerText(pm.GetEphemeralExpiration())
	}
	if isViewOnce(evt, msg) && !c.conn.cfg.ViewOnce {
		return "a view-once " + viewOnceKind(msg) + " was not bridged (view_once is off); open it on the phone"
	}
	return ""
}

func isViewOnce(evt *events.Message, msg *waE2E.Message) bool {
	return evt.IsViewOnce || msg.GetImageMessage().GetViewOnce() ||
		msg.GetVideoMessage().GetViewOnce() || msg.GetAudioMessage().GetViewOnce()
}

func viewOnceKind(msg *waE2E.Message) string {
	switch {
	case msg.GetImageMessage() != nil:
		return "photo"
	case msg.GetVideoMessage() != nil:
		return "video"
	case msg.GetAudioMessage() != nil:
		return "voice message"
	}
	return "message"
}

// timerText describes a disappearing-messages timer of seconds (0: off).
func timerText(seconds uint32) string {
	if seconds == 0 {
		return "Disappearing messages turned off"
	}
	return "Disappearing messages set to " + spanText(time.Duration(seconds)*time.Second)
}

func spanText(d time.Duration) string {
	plural := func(n int, unit string) string {
		if n == 1 {
			return "1 " + unit
		}
		return fmt.Sprintf("%d %ss", n, unit)
	}
	switch {
	case d >= 24*time.Hour && d%(24*time.Hour) == 0:
		return plural(int(d/(24*time.Hour)), "day")
	case d >= time.Hour && d%time.Hour == 0:
		return plural(int(d/time.Hour), "hour")
	case d >= time.Minute && d%time.Minute == 0:
		return plural(int(d/time.Minute), "minute")
	}
	return plural(int(d/time.Second), "second")
}

func noticeParts(text string) []network.Part {
	return []network.Part{{Content: &event.MessageEventContent{MsgType: event.MsgNotice, Body: text}}}
}
