package whatsapp

import (
	"context"
	"time"

	"go.mau.fi/whatsmeow/types"
	"maunium.net/go/mautrix/id"

	"github.com/ferrybridge/ferry/bridge/network"
)

// A login whose device connects later than connect_timeout is handed to
// the core without a client (login.go, finish): the core stores it and
// loads it with LoadLogin. If the core cannot store or load it, it has no
// client to log out, and calls only the flow's Cancel: the new device
// would stay linked to the account and in the store, with no login for
// it. So until LoadLogin has taken the device, which it does only once
// it has loaded it, the flow keeps it, and a Cancel discards it: the
// device unlinks itself (relink_offline.go) or is at least deleted here,
// and a previous link it was to replace is no longer marked for removal
// and stays the login's running client. A LoadLogin coming after that
// (a `cancel` while the core was storing the login) fails, so the core
// does not run a login on a device that is gone.

// handOverAlone records that p's device was handed to the core without a
// client: the core's LoadLogin takes it, or p's Cancel discards it.
func (c *Connector) handOverAlone(p *loginProcess) {
	c.lock.Lock()
	c.handedAlone[p.aloneJID] = p
	c.lock.Unlock()
}

// handedAloneOwner is the Matrix user of a login of account (a JID
// without device) handed to the core alone and not yet loaded or
// discarded ("" if none). Until LoadLogin the login has no running
// client, so finish asks this too before it lets another user link the
// account: the core stores a login by its ID alone, and would hand the
// account to whoever completes last.
func (c *Connector) handedAloneOwner(account types.JID) id.UserID {
	c.lock.Lock()
	defer c.lock.Unlock()
	for jid, p := range c.handedAlone {
		if !p.discarded && jid.ToNonAD() == account {
			return p.user
		}
	}
	return ""
}

// takeHandedAlone is LoadLogin's part: it takes jid from the flow that
// handed it over, when LoadLogin loaded it (loaded), and says whether
// that flow discarded it already. A device the core could not load stays
// the flow's: the core then has no client for it, only the flow to
// cancel, and the new device would otherwise stay linked while the core
// puts back the earlier login's record (a relink) or deletes the login's.
func (c *Connector) takeHandedAlone(jid types.JID, loaded bool) (discarded bool) {
	c.lock.Lock()
	defer c.lock.Unlock()
	if c.discardedAlone[jid] {
		return true
	}
	p := c.handedAlone[jid]
	if p == nil {
		return false
	}
	if loaded || p.discarded {
		delete(c.handedAlone, jid)
	}
	return p.discarded
}

// discardIfNotTaken is Cancel's part for a login handed over alone: when
// the core has not loaded the device, it is discarded. It reports whether
// it was. bg is the connector's background context: a Stop leaves the
// unlink request a short grace (withStopGrace), and the device is then
// still deleted here, and the previous link kept, before the database
// closes.
func (p *loginProcess) discardIfNotTaken(bg context.Context) bool {
	c := p.conn
	c.lock.Lock()
	taken := c.handedAlone[p.aloneJID] != p
	if !taken {
		// Kept marked, for a LoadLogin still to come to refuse.
		p.discarded = true
	}
	c.lock.Unlock()
	if taken {
		return false
	}
	defer c.discardDone(p)
	p.log.Warn().Msg("The core did not take the login handed to it; discarding the new device")
	// The writes to the database outlive a Stop that ended the request
	// (the database is open until Stop has returned); the request and
	// the notice do not, as WhatsApp or the homeserver may be what the
	// stop is waiting for.
	cleanup := func() (context.Context, context.CancelFunc) {
		return context.WithTimeout(context.WithoutCancel(bg), unlinkReplacedTimeout)
	}
	p.lock.Lock()
	old := p.old
	p.lock.Unlock()
	if old != nil {
		ctx, cancel := cleanup()
		c.keepPrevious(ctx, old)
		cancel()
	}
	jid := p.aloneJID
	unlinkCtx, cancelUnlink := withStopGrace(bg, unlinkReplacedTimeout)
	err := c.unlinkOffline(unlinkCtx, p.device, p.log)
	cancelUnlink()
	if err == nil {
		p.log.Info().Stringer("jid", jid).Msg("Unlinked the new device the core did not take")
		return true
	}
	p.log.Warn().Err(err).Msg("Could not unlink the new device the core did not take; deleting it locally, and it may stay listed under the phone's linked devices")
	if p.device.ID != nil {
		ctx, cancel := cleanup()
		if delErr := p.device.Delete(ctx); delErr != nil {
			p.log.Err(delErr).Msg("Failed to delete the new device")
		}
		cancel()
	}
	if old != nil {
		// The core knows the login (the previous link's): the user hears
		// of the device to remove. Of a first login the core knows
		// nothing to notify through; it has reported the failed login.
		ctx, cancel := context.WithTimeout(bg, unlinkReplacedTimeout)
		defer cancel()
		c.host.NotifyUser(ctx, old.id, "The new link to your WhatsApp account could not be completed, and Ferry could not remove it ("+
			err.Error()+"). On your phone, remove the newer Ferry device under Settings → Linked devices.")
	}
	return true
}

// discardedMemory is how long a LoadLogin of a device discarded by its
// flow is still refused once the discard completed: the core's LoadLogin
// that can come after a Cancel follows the login's store at once (a
// `cancel` while the core was storing it). A variable for tests.
var discardedMemory = 5 * time.Minute

// discardDone forgets the flow of a discarded device, which the core
// never loads: until now only a LoadLogin removed it, so one whose login
// the core could not store stayed, with its device and whatsmeow client,
// for as long as Ferry ran. Its JID alone is kept for a while, for a late
// LoadLogin to refuse: without the refusal it would load a login whose
// device is gone, and the core, which drops the cancelled login, would
// log out that client, deleting the data of the earlier link it was to
// replace.
func (c *Connector) discardDone(p *loginProcess) {
	jid := p.aloneJID
	c.lock.Lock()
	if c.handedAlone[jid] == p {
		delete(c.handedAlone, jid)
	}
	c.discardedAlone[jid] = true
	c.lock.Unlock()
	time.AfterFunc(discardedMemory, func() {
		c.lock.Lock()
		delete(c.discardedAlone, jid)
		c.lock.Unlock()
	})
}

// keepPrevious undoes replaceOnConnect: old, the previous link of a login
// whose new link was discarded, stays the login's device and running
// client, and is no longer removed when the login's next client connects.
func (c *Connector) keepPrevious(ctx context.Context, old *Client) {
	c.restore(old)
	c.lock.Lock()
	if c.pendingUnlinks[old.id] == old {
		delete(c.pendingUnlinks, old.id)
	}
	c.lock.Unlock()
	if old.device == nil || old.device.ID == nil {
		return
	}
	if err := c.replacedDevices.delete(ctx, old.id, *old.device.ID); err != nil {
		old.log.Err(err).Msg("Failed to keep the previous device of a discarded link")
	}
	// The core may have stored the new link's metadata over the login's
	// before it failed to load it; the login runs on old's device.
	login := &network.Login{
		ID: old.id, User: old.user, RemoteName: "+" + string(old.remote),
		RemoteUser: old.remote, Metadata: metadataOf(old.device),
	}
	if err := c.host.SaveLogin(ctx, login); err != nil {
		old.log.Err(err).Msg("Failed to store the login's device again after a discarded link")
	}
}

// errDiscardedLogin is LoadLogin's answer for a device a flow discarded.
var errDiscardedLogin = network.UserErrorf("this WhatsApp login was cancelled before Ferry stored it; send `login whatsapp` to link again")
