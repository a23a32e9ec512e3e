package whatsapp

import (
	"fmt"
	"strings"
	"time"

	"go.mau.fi/whatsmeow/types/events"

	"github.com/ferrybridge/ferry/bridge/network"
)

// whatsmeow stops reconnecting (it expects the disconnect) after these
// events: WhatsApp gave the session to another program, refused this
// version, refused the connection for a reason it does not say will pass,
// could not renew the connection token, or banned the account for a
// while. Nothing connects the login again on its own then, so each is
// reported as network.StateStopped, which the core tells the user at
// once, with what happened and what to do: mostly `reconnect whatsapp`
// (the core disconnects and connects the login), or the administrator's
// update. A temporary ban ends by itself: Ferry connects again when it
// has, unless the login is disconnected or logged out first.

// banEndMargin is how long after a ban's announced end Ferry connects
// again, so that a clock a little off does not meet the ban still on. A
// variable only so that tests need not wait.
var banEndMargin = 30 * time.Second

const reconnectHint = "send `reconnect whatsapp` to connect again"

// handleStop reports a connection whatsmeow will not retry.
func (c *Client) handleStop(evt any) {
	c.setDown()
	var text string
	switch evt := evt.(type) {
	case *events.StreamReplaced:
		text = "another program took over this WhatsApp session (is Ferry running twice, or another bridge linked with the same session?); send `reconnect whatsapp` to take it back"
	case *events.ClientOutdated:
		text = "WhatsApp refused this version of Ferry as outdated (405); the bridge administrator must update Ferry, then " + reconnectHint
	case *events.ConnectFailure:
		reason := evt.Reason.String()
		if evt.Message != "" {
			reason += ", " + evt.Message
		}
		text = "WhatsApp refused the connection (" + reason + "); " + reconnectHint
	case *events.CATRefreshError:
		text = fmt.Sprintf("Ferry could not renew its WhatsApp connection token (%v); %s", evt.Error, reconnectHint)
	case *events.TemporaryBan:
		text = c.banned(evt)
	}
	c.log.Warn().Type("event", evt).Str("reason", text).Msg("WhatsApp connection stopped")
	c.report(network.StateStopped, text)
}

// banned explains a temporary ban and, when WhatsApp says when it ends,
// has the login connect again then.
func (c *Client) banned(evt *events.TemporaryBan) string {
	reason := strings.TrimPrefix(evt.Code.String(), fmt.Sprintf("%d: ", int(evt.Code)))
	text := fmt.Sprintf("WhatsApp banned this account for a while (code %d: %s)", int(evt.Code), reason)
	if evt.Expire <= 0 {
		return text + "; the ban's end is unknown: " + reconnectHint + " later"
	}
	at := time.Now().Add(evt.Expire).UTC()
	wait := evt.Expire + banEndMargin
	c.lock.Lock()
	if c.banEnd != nil {
		c.banEnd.Stop()
	}
	c.banGen++
	gen := c.banGen
	c.banEnd = time.AfterFunc(wait, func() { c.reconnectAfterBan(gen) })
	c.lock.Unlock()
	return fmt.Sprintf("%s until about %s (in %s); Ferry connects again by itself then", text,
		at.Format("2006-01-02 15:04 MST"), evt.Expire.Round(time.Minute))
}

// reconnectAfterBan connects the login again when its ban has ended,
// unless it was disconnected (or banned anew) meanwhile. gen names the
// ban the timer was set for.
func (c *Client) reconnectAfterBan(gen uint64) {
	c.lock.Lock()
	current := c.banEnd != nil && c.banGen == gen
	if current {
		c.banEnd = nil
	}
	c.lock.Unlock()
	if !current {
		return
	}
	c.log.Info().Msg("Temporary ban over; connecting to WhatsApp again")
	c.disconnect()
	c.Connect(c.conn.bgContext())
}
