package whatsapp

import (
	"context"
	"errors"
	"time"

	"go.mau.fi/whatsmeow/types"

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
// connected device can). The core's `reconnect` command disconnects the
// login's running client too, and may do so in the moment before the
// core starts the new link; it connects the client again at once, so the
// unlink waits a little (relinkGrace) for a Connect that shows the
// Disconnect was not the core's start. If the core cannot store or start
// the new login, it logs the new client out instead: that Logout unlinks
// only the new device, leaves the login's data (the old link's) alone,
// and makes the old client the login's running client again.
//
// When the new device is slower than connect_timeout, the core gets the
// login alone and connects a client of its own; the old device goes when
// that client connects. The core has disconnected the old device by then,
// so it connects once more with a bare client to ask WhatsApp to unlink
// it (relink_offline.go); only if that fails is it deleted here and the
// user told to remove it on the phone. That may be minutes later, so the
// old device is also kept in the database (relink_store.go) until it is
// removed: after
// a stop in between, the login's next run removes it the same way when
// its client connects, and a logout removes it with the login.

// unlinkReplacedTimeout bounds the unlink request of a replaced device.
const unlinkReplacedTimeout = 15 * time.Second

// replaceWhenStarted has old, the login's running client, unlinked when
// the core starts newer in its place (Client.Disconnect), or restored if
// the core discards newer (Client.Logout). newer, handed to the core
// now, is the login's running client from here on; old goes on running
// until the core disconnects it, and Stop disconnects it if the core
// has not (it is in relinks until then).
//
// old's device is also kept in the database (relink_store.go) until it
// is removed: after a stop or crash before the core started newer, or
// before the unlink was done, the login's next run removes it when its
// client connects; one the core never stored newer's login over is the
// login's own device then, and only forgotten (loadReplaced).
func (c *Connector) replaceWhenStarted(ctx context.Context, newer, old *Client) {
	if old.device != nil && old.device.ID != nil {
		if err := c.replacedDevices.put(context.WithoutCancel(ctx), old.id, *old.device.ID); err != nil {
			old.log.Err(err).Msg("Failed to keep the replaced device to remove; a restart before it is unlinked leaves it")
		}
	}
	c.lock.Lock()
	c.relinks[newer] = old
	c.clients[newer.id] = newer
	c.lock.Unlock()
}

// replacedBy returns the new client that replaces old, if the core is
// starting one (nil otherwise, and once the connector is stopped: a
// stopping bridge unlinks no device); take also forgets the relink.
func (c *Connector) replacedBy(old *Client, take bool) *Client {
	c.lock.Lock()
	defer c.lock.Unlock()
	if c.stopped {
		return nil
	}
	for newer, o := range c.relinks {
		if o == old {
			if take {
				delete(c.relinks, newer)
			}
			return newer
		}
	}
	return nil
}

// relinkGrace is how long the client of a replaced link waits after the
// core's Disconnect before its device is unlinked. The core disconnects
// it when it has started the new link in its place, but also when the
// user sends `reconnect` in the moment before that (it disconnects and at
// once connects the login's client, still this one); only the Connect
// that follows tells them apart. A variable for tests.
var relinkGrace = time.Second

// unlinkUnlessReconnected unlinks the device of a replaced link after
// relinkGrace, unless Connect comes first (cancelUnlink): then the
// Disconnect was a reconnect's, and the relink waits for the core as
// before. The device stays connected meanwhile: only a connected device
// can ask to be unlinked. A stop ends the wait; the login's next run
// removes the device then (relink_store.go).
func (c *Client) unlinkUnlessReconnected() {
	c.lock.Lock()
	if c.unlinkWait != nil {
		c.lock.Unlock()
		return
	}
	wait, decided := make(chan struct{}), make(chan struct{})
	c.unlinkWait, c.unlinkDecided = wait, decided
	c.letGo = true
	c.lock.Unlock()
	c.conn.background(func(ctx context.Context) {
		timer := time.NewTimer(relinkGrace)
		defer timer.Stop()
		select {
		case <-wait:
			close(decided)
			return
		case <-timer.C:
		case <-ctx.Done():
		}
		c.lock.Lock()
		mine := c.unlinkWait == wait
		c.unlinkWait = nil
		c.lock.Unlock()
		close(decided) // letGo is final now: before the unlink, which may take long
		if !mine {
			return // a Connect came at the same time
		}
		if ctx.Err() != nil {
			c.conn.keepReplaced(ctx, c)
			c.disconnect() // Stop closes only the login's running clients
			return
		}
		if newer := c.conn.replacedBy(c, true); newer != nil {
			c.unlinkDevice(ctx, newer)
		}
	})
}

// cancelUnlink ends a wait of unlinkUnlessReconnected and says whether
// there was one.
func (c *Client) cancelUnlink() bool {
	c.lock.Lock()
	wait := c.unlinkWait
	c.unlinkWait = nil
	if wait != nil {
		c.letGo = false
	}
	c.lock.Unlock()
	if wait == nil {
		return false
	}
	close(wait)
	return true
}

// wasLetGo says the core disconnected this client of a replaced link and
// no Connect followed: it started the new link in its place. Unlike
// unlinkWait, it stays set once the wait is over, so that a Logout of the
// new link racing the end of relinkGrace still sees it. A reconnect's
// Disconnect sets it too, until its Connect; so while the wait for that
// Connect runs, wasLetGo waits for it to be decided (at most relinkGrace,
// or until ctx ends): answered at once, the core's discard of a relink
// it could not store, coming between a reconnect's Disconnect and
// Connect, would be taken for the user's logout, unlinking this device
// too and deleting the login's data while the core runs it on.
func (c *Client) wasLetGo(ctx context.Context) bool {
	c.lock.Lock()
	decided := c.unlinkDecided
	c.lock.Unlock()
	if decided != nil {
		select {
		case <-decided:
		case <-ctx.Done():
		}
	}
	c.lock.Lock()
	defer c.lock.Unlock()
	return c.letGo
}

// keepReplaced keeps old's device for the login's next run to remove,
// when a stop comes before it could be unlinked.
func (c *Connector) keepReplaced(ctx context.Context, old *Client) {
	if old.device == nil || old.device.ID == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), unlinkReplacedTimeout)
	defer cancel()
	if err := c.replacedDevices.put(ctx, old.id, *old.device.ID); err != nil {
		old.log.Err(err).Msg("Failed to keep the replaced device to remove at the next start")
	}
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

// replaceOnConnect has old unlinked when the login's next client connects,
// in this run or, after a stop, the next (loadReplaced). The login is the
// core's already: its context's end does not stop the device being kept.
func (c *Connector) replaceOnConnect(ctx context.Context, login network.LoginID, old *Client) {
	if old.device != nil && old.device.ID != nil {
		if err := c.replacedDevices.put(context.WithoutCancel(ctx), login, *old.device.ID); err != nil {
			old.log.Err(err).Msg("Failed to keep the replaced device to remove; a restart before the new one connects leaves it")
		}
	}
	c.lock.Lock()
	c.pendingUnlinks[login] = old
	c.lock.Unlock()
}

// loadReplaced takes up the devices that earlier links of cl's login left
// to remove at a stop: they go when cl connects. One that is cl's own
// device (the core never stored the link that was to replace it) is the
// login's and only forgotten; one that this run's relink replaces is
// cl.replaces already.
func (c *Connector) loadReplaced(ctx context.Context, cl *Client) {
	jids, err := c.replacedDevices.get(ctx, cl.id)
	if err != nil {
		cl.log.Err(err).Msg("Failed to load the replaced devices to remove")
		return
	}
	cl.lock.Lock()
	var inMemory types.JID
	if cl.replaces != nil && cl.replaces.device != nil && cl.replaces.device.ID != nil {
		inMemory = *cl.replaces.device.ID
	}
	var own []types.JID
	for _, jid := range jids {
		switch jid {
		case *cl.device.ID:
			own = append(own, jid)
		case inMemory:
		default:
			cl.replacedLeft = append(cl.replacedLeft, jid)
		}
	}
	cl.lock.Unlock()
	for _, jid := range own {
		if err = c.replacedDevices.delete(ctx, cl.id, jid); err != nil {
			cl.log.Err(err).Stringer("jid", jid).Msg("Failed to forget the login's own device as replaced")
		}
	}
}

// takeReplaced takes what this client's link replaced, for removal once.
func (c *Client) takeReplaced() (old *Client, left []types.JID) {
	c.lock.Lock()
	defer c.lock.Unlock()
	old, left = c.replaces, c.replacedLeft
	c.replaces, c.replacedLeft = nil, nil
	return old, left
}

// unlinkReplaced unlinks the devices this client's link replaced, if any,
// once. It runs from whatsmeow's event handler, so the requests go out in
// the background: the connector's, which Stop ends and waits for before
// the core closes the database the unlink writes to.
func (c *Client) unlinkReplaced() {
	old, left := c.takeReplaced()
	if old != nil || len(left) > 0 {
		c.conn.background(func(ctx context.Context) { c.removeReplaced(ctx, old, left) })
	}
}

// removeReplaced unlinks old, the client of the link this one replaced,
// and removes the devices left by earlier runs (removeLeftDevice).
func (c *Client) removeReplaced(ctx context.Context, old *Client, left []types.JID) {
	if old != nil {
		old.unlinkDevice(ctx, c)
	}
	for _, jid := range left {
		c.removeLeftDevice(ctx, jid)
	}
}

// errLeftOffline is why a device a stop left to remove is not unlinked.
var errLeftOffline = errors.New("a restart of Ferry came first, and only a connected device can ask to be unlinked")

// removeLeftDevice removes a replaced device that an earlier run left
// (loadReplaced). It connects once more to unlink itself
// (relink_offline.go); if it cannot, it is deleted here and the user told
// to remove it on the phone. The removal outlives a Stop (the database is
// open until Stop has returned); a failed one is tried again at the next
// start.
func (c *Client) removeLeftDevice(bg context.Context, jid types.JID) {
	log := c.log.With().Stringer("replaced_jid", jid).Logger()
	loadCtx, cancelLoad := context.WithTimeout(context.WithoutCancel(bg), unlinkReplacedTimeout)
	device, err := c.conn.container.GetDevice(loadCtx, jid)
	cancelLoad()
	if err != nil {
		log.Err(err).Msg("Failed to load the replaced device to remove")
		return
	}
	var unlinkErr error = errLeftOffline
	if device != nil && device.ID != nil {
		// A Stop ends the unlink; the delete below still runs.
		unlinkCtx, cancelUnlink := context.WithTimeout(bg, unlinkReplacedTimeout)
		unlinkErr = c.conn.unlinkOffline(unlinkCtx, device, log)
		cancelUnlink()
		if unlinkErr == nil {
			log.Info().Msg("Unlinked the device a new link replaced before Ferry stopped")
		} else {
			log.Warn().Err(unlinkErr).Msg("Could not unlink the device a new link replaced before Ferry stopped")
			if bg.Err() != nil {
				// Stopped: the next start tries the unlink again.
				return
			}
		}
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(bg), unlinkReplacedTimeout)
	defer cancel()
	if unlinkErr == nil {
		c.conn.forgetReplaced(ctx, c.id, jid)
		return
	}
	if device != nil {
		log.Warn().Msg("Deleting the device a new link replaced before Ferry stopped")
		if err = device.Delete(ctx); err != nil {
			log.Err(err).Msg("Failed to delete the replaced device")
			return
		}
	}
	// Forgotten before the user is told, so that the notice is the last
	// thing the removal does.
	c.conn.forgetReplaced(ctx, c.id, jid)
	if device != nil {
		c.conn.host.NotifyUser(bg, c.id, replacedNotice(unlinkErr))
	}
}

// forgetReplaced drops a replaced device that is removed from the
// devices still to remove.
func (c *Connector) forgetReplaced(ctx context.Context, login network.LoginID, jid types.JID) {
	if err := c.replacedDevices.delete(ctx, login, jid); err != nil {
		c.log.Err(err).Str("login", string(login)).Stringer("replaced_jid", jid).Msg("Failed to forget a removed device")
	}
}

// replacedNotice tells the user to remove a replaced device on the phone.
func replacedNotice(why error) string {
	return "Ferry could not remove its previous link to your WhatsApp account (" + why.Error() +
		"). On your phone, remove the older Ferry device under Settings → Linked devices."
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
// nothing. bg is the connector's background context: a Stop ends the
// request, and the device is then kept for the login's next run to
// unlink (keepReplaced), before the database closes.
func (c *Client) unlinkDevice(bg context.Context, newer *Client) {
	c.retire()
	c.stopConnecting()
	if c.wa == nil || c.device == nil || c.device.ID == nil || sameDevice(c, newer) {
		c.disconnectWA()
		return
	}
	ctx, cancel := context.WithTimeout(bg, unlinkReplacedTimeout)
	defer cancel()
	// The local delete and forgetting the device outlive a Stop that ended
	// the request (the database is open until Stop has returned); the
	// notice does not, as the homeserver may be what the stop is waiting
	// for.
	cleanupCtx, cancelCleanup := context.WithTimeout(context.WithoutCancel(bg), unlinkReplacedTimeout)
	defer cancelCleanup()
	jid := *c.device.ID // whatsmeow clears it when it deletes the device
	gone, err := c.unlinkOrDelete(ctx, cleanupCtx, roleReplaced)
	if !gone && bg.Err() != nil {
		// The stop cut the request short (unlinkOrDelete kept the
		// device): the login's next run removes it, as one whose
		// unlink a stop came before (relink_store.go). Deleted here,
		// the phone would keep it with nothing of Ferry's to tell of it.
		c.conn.keepReplaced(cleanupCtx, c)
		return
	}
	if gone {
		c.conn.forgetReplaced(cleanupCtx, c.id, jid)
	}
	if err == nil {
		c.log.Info().Stringer("jid", jid).Msg("Unlinked the device a new link of the account replaced")
		return
	}
	c.conn.host.NotifyUser(ctx, c.id, replacedNotice(err))
}

// unlinkOrDelete asks WhatsApp to unlink the client's device (whatsmeow
// then disconnects it and deletes it here). When WhatsApp cannot be
// asked, whatsmeow deletes nothing, so the device is disconnected and
// deleted here all the same: Ferry is done with it either way. It returns
// whether the device is gone from the store, and why WhatsApp could not
// be asked, for the caller to tell the user to remove the device on the
// phone. role names the device in the log.
func (c *Client) unlinkOrDelete(ctx, cleanupCtx context.Context, role string) (gone bool, err error) {
	if err = c.wa.Logout(ctx); err == nil {
		return true, nil
	}
	c.disconnectWA()
	if role == roleReplaced && offlineUnlinkable(err) {
		// The core disconnected it before the new link connected (the
		// slow relink): it connects once more to unlink itself.
		if err = c.conn.unlinkOffline(ctx, c.device, c.log); err == nil {
			return true, nil
		}
	}
	log := c.log.With().Str("device_role", role).Logger()
	if role == roleReplaced && c.conn.bgContext().Err() != nil {
		// Ferry is stopping: the device is kept for the login's next
		// run to unlink (unlinkDevice).
		log.Warn().Err(err).Msg("Could not unlink the device before the stop; keeping it for the next start")
		return false, err
	}
	log.Warn().Err(err).Msg("Could not unlink the device; deleting it locally")
	if delErr := c.device.Delete(cleanupCtx); delErr != nil {
		log.Err(delErr).Msg("Failed to delete the device")
		return false, err
	}
	return true, err
}

// roleReplaced names, to unlinkOrDelete, the device of a link that a
// newer one replaced.
const roleReplaced = "replaced"

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
	if old.device != nil && old.device.ID != nil {
		// Kept to remove by replaceWhenStarted; it is the login's again.
		fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), unlinkReplacedTimeout)
		c.conn.forgetReplaced(fctx, old.id, *old.device.ID)
		cancel()
	}
	c.stopConnecting()
	if c.wa == nil {
		return nil
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), unlinkReplacedTimeout)
	defer cancel()
	_, err := c.unlinkOrDelete(ctx, ctx, "discarded new")
	if err == nil {
		return nil
	}
	return &network.UserError{
		Message: "WhatsApp could not be reached to unlink the new link; remove it on your phone under Settings → Linked devices",
		Err:     err,
	}
}
