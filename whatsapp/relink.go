package whatsapp

import (
	"context"
	"time"

	"github.com/ferrybridge/ferry/bridge/network"
)

// Linking an account that is linked already makes a new device; the old
// one is of no use then and is unlinked, but only once the new one is
// connected and the core has stored and started its login: a link that
// fails on the way (the user cancels, the phone never connects it, the
// core cannot store it) leaves the user the old one. whatsmeow does not
// force the order: both are linked devices of the account and may be
// connected at the same time.
//
// When the new device is connected before the login completes, the login
// is handed to the core with its client, and the core stores it, makes
// the client the login's and then disconnects the old client. That
// Disconnect is the sign that the new link is in place: the old client
// asks WhatsApp to unlink its device then, while still connected (only a
// connected device can). If the core cannot store or start the new login,
// it logs the new client out instead: that Logout unlinks only the new
// device, leaves the login's data (the old link's) alone, and makes the
// old client the login's running client again.
//
// When the new device is slower than connect_timeout, the core gets the
// login alone and connects a client of its own; the old device goes when
// that client connects. The core has disconnected the old device by then,
// so WhatsApp cannot be asked: it is deleted here and the user told to
// remove it on the phone.

// unlinkReplacedTimeout bounds the unlink request of a replaced device.
const unlinkReplacedTimeout = 15 * time.Second

// replaceWhenStarted has old, the login's running client, unlinked when
// the core starts newer in its place (Client.Disconnect), or restored if
// the core discards newer (Client.Logout).
func (c *Connector) replaceWhenStarted(newer, old *Client) {
	c.lock.Lock()
	c.relinks[newer] = old
	c.lock.Unlock()
}

// replacedBy takes the new client that replaces old, if the core is
// starting one (nil otherwise, and once the connector is stopped: a
// stopping bridge unlinks no device).
func (c *Connector) replacedBy(old *Client) *Client {
	c.lock.Lock()
	defer c.lock.Unlock()
	if c.stopped {
		return nil
	}
	for newer, o := range c.relinks {
		if o == old {
			delete(c.relinks, newer)
			return newer
		}
	}
	return nil
}

// replacing takes the client newer was to replace, if the core has not
// started newer yet (nil otherwise).
func (c *Connector) replacing(newer *Client) *Client {
	c.lock.Lock()
	defer c.lock.Unlock()
	old := c.relinks[newer]
	delete(c.relinks, newer)
	return old
}

// replaceOnConnect has old unlinked when the login's next client connects.
func (c *Connector) replaceOnConnect(login network.LoginID, old *Client) {
	c.lock.Lock()
	c.pendingUnlinks[login] = old
	c.lock.Unlock()
}

// unlinkReplaced unlinks the device this client's link replaced, if any,
// once. It runs from whatsmeow's event handler, so the request goes out
// in the background: the connector's, which Stop ends and waits for
// before the core closes the database the unlink writes to.
func (c *Client) unlinkReplaced() {
	c.lock.Lock()
	old := c.replaces
	c.replaces = nil
	c.lock.Unlock()
	if old != nil {
		c.conn.background(func(ctx context.Context) { old.unlinkDevice(ctx, c) })
	}
}

// restore makes cl the login's running client again when the link that
// was to replace it failed, unless another took its place.
func (c *Connector) restore(cl *Client) {
	c.lock.Lock()
	if _, ok := c.clients[cl.id]; !ok {
		c.clients[cl.id] = cl
	}
	c.lock.Unlock()
}

// retire ends what the client of a replaced link does for the login: its
// states are not the login's any more, and the new client hands over the
// history it left (historyQueue).
func (c *Client) retire() {
	c.quiet.Store(true)
	c.history.close()
}

// unlinkDevice unlinks the device of a link that newer replaced, or at
// least deletes its session here, telling the user to remove it on the
// phone then. A session already gone (the phone logged it out) needs
// nothing. ctx is the connector's background context: a Stop ends the
// request, and the session is then still deleted here, before the
// database closes.
func (c *Client) unlinkDevice(bg context.Context, newer *Client) {
	c.retire()
	c.stopConnecting()
	if c.wa == nil || c.device == nil || c.device.ID == nil || sameDevice(c, newer) {
		c.disconnectWA()
		return
	}
	ctx, cancel := context.WithTimeout(bg, unlinkReplacedTimeout)
	defer cancel()
	err := c.wa.Logout(ctx) // disconnects when it succeeds
	if err == nil {
		c.log.Info().Stringer("jid", c.device.ID).Msg("Unlinked the device a new link of the account replaced")
		return
	}
	c.disconnectWA()
	c.log.Warn().Err(err).Msg("Could not unlink the replaced device; deleting it locally")
	// The local delete outlives a Stop that ended the request (the
	// database is open until Stop has returned); the notice does not, as
	// the homeserver may be what the stop is waiting for.
	cleanupCtx, cancelCleanup := context.WithTimeout(context.WithoutCancel(bg), unlinkReplacedTimeout)
	defer cancelCleanup()
	if delErr := c.device.Delete(cleanupCtx); delErr != nil {
		c.log.Err(delErr).Msg("Failed to delete the replaced device")
	}
	c.conn.host.NotifyUser(ctx, c.id, "Ferry could not remove its previous link to your WhatsApp account ("+err.Error()+
		"). On your phone, remove the older Ferry device under Settings → Linked devices.")
}

// sameDevice guards against unlinking the device a login runs on.
func sameDevice(a, b *Client) bool {
	return a.device == b.device || (b.device != nil && b.device.ID != nil && *a.device.ID == *b.device.ID)
}

// discardRelink undoes a new link of an account that the core could not
// store or start (it logs the new client out): the new device is unlinked,
// or at least deleted here, and old is the login's running client again.
// The login's data (message keys, media requests, history waiting) is the
// old link's and stays.
func (c *Client) discardRelink(ctx context.Context, old *Client) error {
	c.conn.forget(c)
	c.conn.restore(old)
	c.stopConnecting()
	if c.wa == nil {
		return nil
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), unlinkReplacedTimeout)
	defer cancel()
	err := c.wa.Logout(ctx)
	c.disconnectWA()
	if err == nil {
		return nil
	}
	c.log.Warn().Err(err).Msg("Could not unlink the discarded new device; deleting it locally")
	if delErr := c.device.Delete(ctx); delErr != nil {
		c.log.Err(delErr).Msg("Failed to delete the discarded new device")
	}
	return &network.UserError{
		Message: "WhatsApp could not be reached to unlink the new link; remove it on your phone under Settings → Linked devices",
		Err:     err,
	}
}
