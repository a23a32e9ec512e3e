package wasim

import (
	"fmt"
	"slices"
	"strconv"

	waBinary "go.mau.fi/whatsmeow/binary"
	"go.mau.fi/whatsmeow/types"
	"go.mau.fi/whatsmeow/util/keys"
)

// Phone is a WhatsApp account whose primary device is a simulated phone:
// it owns the account identity key that signs linked devices, and it can
// scan QR codes. The phone itself (device 0) has no Signal session in the
// simulator, so it is never listed as a device: senders encrypt only for
// the account's linked (companion) devices.
type Phone struct {
	sim      *Sim
	pn       types.JID
	lid      types.JID
	pushName string
	// identity is the account signature key (ADV account key).
	identity *keys.KeyPair
	// nextDevice numbers linked devices; 0 is the phone itself.
	nextDevice uint16
	devices    map[uint16]*device
	picture    *picture
	pres       *presenceState
	signal     *phoneSignal
}

// JID is the account's phone-number JID (number@s.whatsapp.net).
func (p *Phone) JID() types.JID { return p.pn }

// LID is the account's hidden-user JID (number@lid).
func (p *Phone) LID() types.JID { return p.lid }

// Devices lists the linked devices' phone-number JIDs, in pairing order.
func (p *Phone) Devices() []types.JID {
	p.sim.mu.Lock()
	defer p.sim.mu.Unlock()
	out := make([]types.JID, 0, len(p.devices))
	for _, id := range p.deviceIDs() {
		out = append(out, p.deviceJID(id, false))
	}
	return out
}

func (p *Phone) deviceIDs() []uint16 {
	ids := make([]uint16, 0, len(p.devices))
	for id := range p.devices {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	return ids
}

// deviceJID is the AD JID of one of the account's devices, in LID or PN
// addressing.
func (p *Phone) deviceJID(id uint16, lid bool) types.JID {
	j := p.pn
	if lid {
		j = p.lid
	}
	j.Device = id
	return j
}

// device is a linked companion device and what the server keeps for it:
// its Noise key (its login credential), its Signal public keys for others
// to fetch, its connection and the stanzas it has not acknowledged yet.
type device struct {
	phone          *Phone
	id             uint16
	noiseKey       [32]byte
	identityKey    [32]byte
	registrationID uint32
	signedPreKey   *preKey
	// preKeys are one-time prekeys, handed out (and removed) in order.
	preKeys []preKey
	conn    *conn
	// pending holds stanzas (messages, receipts, notifications) delivered
	// or waiting for delivery that the device has not acknowledged with a
	// receipt or ack. They are sent again on every login, like WhatsApp's
	// offline queue.
	pending []pendingStanza
}

type preKey struct {
	id        uint32
	pub       [32]byte
	signature []byte
}

type pendingStanza struct {
	key  string
	node waBinary.Node
}

// pendingKey identifies a stanza by what an ack or receipt echoes back:
// its kind (the ack's class), its id and the JID it came from.
func pendingKey(class, id string, from types.JID) string {
	return class + "|" + id + "|" + from.String()
}

// lookupUserLocked finds the account a JID belongs to, in either
// addressing mode.
func (s *Sim) lookupUserLocked(j types.JID) *Phone {
	switch j.Server {
	case types.DefaultUserServer:
		return s.byPN[j.User]
	case types.HiddenUserServer:
		return s.byLID[j.User]
	}
	return nil
}

// lookupDeviceLocked finds a linked device by AD JID (PN or LID).
func (s *Sim) lookupDeviceLocked(j types.JID) *device {
	p := s.lookupUserLocked(j)
	if p == nil {
		return nil
	}
	return p.devices[j.Device]
}

// NewPhone registers an account for a phone number (digits only, with
// country code) and gives it a LID. LIDs are allocated deterministically
// in creation order.
func (s *Sim) NewPhone(phoneNumber, pushName string) (*Phone, error) {
	if _, err := strconv.ParseUint(phoneNumber, 10, 64); err != nil || len(phoneNumber) < 5 {
		return nil, fmt.Errorf("phone number %q must be digits only", phoneNumber)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, exists := s.byPN[phoneNumber]; exists {
		return nil, fmt.Errorf("phone number %s already registered", phoneNumber)
	}
	s.lidCounter++
	lidUser := strconv.FormatUint(lidBase+s.lidCounter, 10)
	p := &Phone{
		sim:        s,
		pn:         types.NewJID(phoneNumber, types.DefaultUserServer),
		lid:        types.NewJID(lidUser, types.HiddenUserServer),
		pushName:   pushName,
		identity:   keys.NewKeyPair(),
		nextDevice: 1,
		devices:    make(map[uint16]*device),
	}
	s.byPN[phoneNumber] = p
	s.byLID[lidUser] = p
	s.log.Debug().Stringer("pn", p.pn).Stringer("lid", p.lid).Msg("Registered phone")
	return p, nil
}

// lidBase makes simulated LIDs look like real ones (15 digits) while
// staying clearly distinct from the phone numbers tests use.
const lidBase = 100000000000000

// Unlink removes a linked device, as "Log out" in the phone's linked
// devices list does. A connected device gets the device_removed stream
// error (whatsmeow: events.LoggedOut, store deleted); a disconnected one
// is refused at its next login.
func (p *Phone) Unlink(device types.JID) error {
	s := p.sim
	s.mu.Lock()
	d := p.devices[device.Device]
	if d == nil || (device.User != p.pn.User && device.User != p.lid.User) {
		s.mu.Unlock()
		return fmt.Errorf("unlink: %s is not a device of %s", device, p.pn)
	}
	delete(p.devices, device.Device)
	c := d.conn
	d.conn = nil
	notify := s.devicesNotificationLocked(p, "remove", d.id)
	s.mu.Unlock()
	s.deliver(notify)
	s.log.Info().Stringer("device", p.deviceJID(d.id, false)).Msg("Device unlinked by phone")
	if c != nil {
		_ = c.send(waBinary.Node{Tag: "stream:error", Attrs: waBinary.Attrs{"code": "401"},
			Content: []waBinary.Node{{Tag: "conflict", Attrs: waBinary.Attrs{"type": "device_removed"}}}})
		c.closeSoon("device removed")
	}
	return nil
}

// handleMDIQ serves the md namespace after login: remove-companion-device
// is whatsmeow's Logout, which unlinks the device itself.
func (s *Sim) handleMDIQ(c *conn, node *waBinary.Node) {
	rm, ok := node.GetOptionalChildByTag("remove-companion-device")
	if !ok {
		s.unknownIQ(c, node, "md")
		return
	}
	jid, _ := rm.Attrs["jid"].(types.JID)
	s.mu.Lock()
	d := c.dev
	own := s.lookupDeviceLocked(jid) == d
	var notify []delivery
	if own {
		delete(d.phone.devices, d.id)
		d.conn = nil
		notify = s.devicesNotificationLocked(d.phone, "remove", d.id)
	}
	s.mu.Unlock()
	s.deliver(notify)
	if !own {
		s.reply(c, iqError(node, 403, "forbidden"))
		return
	}
	c.log.Info().Any("reason", rm.Attrs["reason"]).Msg("Device logged out")
	s.reply(c, iqResult(node))
}
