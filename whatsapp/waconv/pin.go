package waconv

import (
	"fmt"

	"go.mau.fi/whatsmeow/proto/waE2E"
	"maunium.net/go/mautrix/event"

	"github.com/ferrybridge/ferry/bridge/network"
)

// pinConverted shows a pin or an unpin of a message in a WhatsApp chat
// as a short notice replying to that message; the core drops the reply
// where the room does not have the message, and the notice still says
// what happened. Matrix's own pins (m.room.pinned_events) are not used:
// they are room state the contract does not carry, and a pin for 7 days
// would stay pinned in Matrix. A pin of a kind this whatsmeow does not
// know is ignored, as all pins were before.
func pinConverted(pin *waE2E.PinInChatMessage, mci *waE2E.MessageContextInfo) *Converted {
	var body string
	switch pin.GetType() {
	case waE2E.PinInChatMessage_PIN_FOR_ALL:
		body = "📌 Pinned a message"
		if d := pinDuration(mci.GetMessageAddOnDurationInSecs()); d != "" {
			body += " for " + d
		}
	case waE2E.PinInChatMessage_UNPIN_FOR_ALL:
		body = "Unpinned a message"
	default:
		return &Converted{Kind: KindIgnored}
	}
	c := &Converted{Kind: KindMessage, Parts: []network.Part{{Content: &event.MessageEventContent{
		MsgType:  event.MsgNotice,
		Body:     body,
		Mentions: &event.Mentions{},
	}}}}
	if target := pin.GetKey().GetID(); target != "" {
		c.ReplyTo = &network.MessageRef{ID: network.MessageID(target)}
	}
	return c
}

// pinDuration words how long a pin lasts as WhatsApp offers it (24
// hours, 7 or 30 days), or "" when it gives none or an odd one.
func pinDuration(secs uint32) string {
	switch {
	case secs == 0:
		return ""
	case secs%86400 == 0 && secs > 86400:
		return fmt.Sprintf("%d days", secs/86400)
	case secs == 3600:
		return "1 hour"
	case secs%3600 == 0:
		return fmt.Sprintf("%d hours", secs/3600)
	}
	return ""
}
