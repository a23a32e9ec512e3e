package wasim

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"go.mau.fi/libsignal/ecc"
	"go.mau.fi/whatsmeow"
	waBinary "go.mau.fi/whatsmeow/binary"
	"go.mau.fi/whatsmeow/proto/waAdv"
	"go.mau.fi/whatsmeow/proto/waWa6"
	"go.mau.fi/whatsmeow/types"
	"google.golang.org/protobuf/proto"
)

// pairingConn is an unpaired client waiting for its QR code to be scanned.
type pairingConn struct {
	conn *conn
	reg  *waWa6.ClientPayload_DevicePairingRegistrationData
	refs []string
	// signed receives the client's answer to pair-success.
	signed chan *waBinary.Node
	// pairID is the id of the pair-success IQ once a phone scanned.
	pairID string
	// code is the pairing-code exchange, if the client asked for one.
	code *codePairing
}

// qrRefCount is how many refs the server offers; whatsmeow shows the
// first for 60 s and the rest for 20 s each.
const qrRefCount = 6

// startPairing registers an unpaired connection and sends it pair-device
// refs, which the client turns into events.QR codes.
func (s *Sim) startPairing(c *conn, reg *waWa6.ClientPayload_DevicePairingRegistrationData) bool {
	pc := &pairingConn{conn: c, reg: reg, signed: make(chan *waBinary.Node, 1)}
	refNodes := make([]waBinary.Node, qrRefCount)
	for i := range refNodes {
		ref := make([]byte, 12)
		_, _ = rand.Read(ref)
		r := "2@" + base64.RawURLEncoding.EncodeToString(ref)
		pc.refs = append(pc.refs, r)
		refNodes[i] = waBinary.Node{Tag: "ref", Content: []byte(r)}
	}
	c.log = c.log.With().Str("conn", "pairing").Logger()
	s.mu.Lock()
	s.pairing[c.noiseKey] = pc
	s.mu.Unlock()
	err := c.send(waBinary.Node{
		Tag: "iq",
		Attrs: waBinary.Attrs{
			"from": types.ServerJID, "type": "set", "id": s.nextID(), "xmlns": "md",
		},
		Content: []waBinary.Node{{Tag: "pair-device", Content: refNodes}},
	})
	if err != nil {
		c.log.Warn().Err(err).Msg("Failed to send pair-device")
		return false
	}
	return true
}

// qrCode is a parsed QR string as whatsmeow's makeQRData builds it.
type qrCode struct {
	ref       string
	noiseKey  [32]byte
	identity  [32]byte
	advSecret []byte
}

const qrPrefix = "https://wa.me/settings/linked_devices#"

func parseQR(code string) (*qrCode, error) {
	rest, ok := strings.CutPrefix(code, qrPrefix)
	if !ok {
		return nil, fmt.Errorf("not a linked-devices QR code: %q", code)
	}
	parts := strings.Split(rest, ",")
	if len(parts) != 5 {
		return nil, fmt.Errorf("QR code has %d fields, want 5", len(parts))
	}
	q := &qrCode{ref: parts[0]}
	noise, err1 := base64.StdEncoding.DecodeString(parts[1])
	ident, err2 := base64.StdEncoding.DecodeString(parts[2])
	adv, err3 := base64.StdEncoding.DecodeString(parts[3])
	if err := errors.Join(err1, err2, err3); err != nil {
		return nil, fmt.Errorf("decode QR keys: %w", err)
	}
	if len(noise) != 32 || len(ident) != 32 || len(adv) == 0 {
		return nil, fmt.Errorf("QR keys have unexpected lengths %d/%d/%d", len(noise), len(ident), len(adv))
	}
	q.noiseKey, q.identity, q.advSecret = [32]byte(noise), [32]byte(ident), adv
	return q, nil
}

// ScanQR links the device showing code to this account, as the phone's
// "Link a device" screen does: it sends pair-success with a device
// identity signed by the account key and HMACed with the QR's ADV secret,
// waits for the client's counter-signature, records the device and tells
// the client to reconnect (stream:error 515). After ScanQR returns nil the
// client logs in on its own and emits events.PairSuccess and
// events.Connected.
func (p *Phone) ScanQR(ctx context.Context, code string) error {
	q, err := parseQR(code)
	if err != nil {
		return fmt.Errorf("scan QR: %w", err)
	}
	s := p.sim
	s.mu.Lock()
	pc := s.pairing[q.noiseKey]
	switch {
	case pc == nil:
		s.mu.Unlock()
		return errors.New("scan QR: no unpaired connection with that key (QR expired or client gone)")
	case !slices.Contains(pc.refs, q.ref):
		s.mu.Unlock()
		return errors.New("scan QR: unknown ref")
	}
	s.mu.Unlock()
	if err = p.link(ctx, pc, q); err != nil {
		return fmt.Errorf("scan QR: %w", err)
	}
	return nil
}

// link completes pairing with a client whose keys the phone has learned
// (from a QR code or through the pairing-code exchange).
func (p *Phone) link(ctx context.Context, pc *pairingConn, q *qrCode) error {
	s := p.sim
	s.mu.Lock()
	switch {
	case pc.pairID != "":
		s.mu.Unlock()
		return errors.New("client already being linked")
	case !bytes.Equal(pc.reg.GetEIdent(), q.identity[:]):
		s.mu.Unlock()
		return errors.New("identity key differs from the one the client registered")
	}
	devID := p.nextDevice
	p.nextDevice++
	s.idSeq++
	pc.pairID = fmt.Sprintf("wasim-pair-%d", s.idSeq)
	s.mu.Unlock()

	signedIdentity, details, err := p.signDeviceIdentity(devID, q)
	if err != nil {
		return err
	}
	c := pc.conn
	err = c.send(waBinary.Node{
		Tag:   "iq",
		Attrs: waBinary.Attrs{"from": types.ServerJID, "type": "set", "id": pc.pairID},
		Content: []waBinary.Node{{Tag: "pair-success", Content: []waBinary.Node{
			{Tag: "device-identity", Content: signedIdentity},
			{Tag: "platform", Attrs: waBinary.Attrs{"name": "smba"}},
			{Tag: "device", Attrs: waBinary.Attrs{"jid": p.deviceJID(devID, false), "lid": p.deviceJID(devID, true)}},
		}}},
	})
	if err != nil {
		return fmt.Errorf("send pair-success: %w", err)
	}

	var answer *waBinary.Node
	select {
	case answer = <-pc.signed:
	case <-c.ctx.Done():
		return errors.New("client disconnected before confirming")
	case <-ctx.Done():
		return ctx.Err()
	}
	return p.finishPairing(pc, devID, q, details, answer)
}

// signDeviceIdentity builds the ADVSignedDeviceIdentityHMAC whatsmeow's
// handlePair verifies (pair.go): HMAC-SHA256 with the ADV secret over an
// ADVSignedDeviceIdentity whose account signature is XEdDSA over
// [6,0] || details || the device's identity key.
func (p *Phone) signDeviceIdentity(devID uint16, q *qrCode) (container, details []byte, err error) {
	details, err = proto.Marshal(&waAdv.ADVDeviceIdentity{
		RawID:     proto.Uint32(uint32(devID)),
		Timestamp: proto.Uint64(uint64(time.Now().Unix())),
		KeyIndex:  proto.Uint32(uint32(devID)),
	})
	if err != nil {
		return nil, nil, fmt.Errorf("marshal device identity: %w", err)
	}
	msg := slices.Concat(whatsmeow.AdvAccountSignaturePrefix, details, q.identity[:])
	sig := ecc.CalculateSignature(ecc.NewDjbECPrivateKey(*p.identity.Priv), msg)
	signed, err := proto.Marshal(&waAdv.ADVSignedDeviceIdentity{
		Details:             details,
		AccountSignatureKey: p.identity.Pub[:],
		AccountSignature:    sig[:],
	})
	if err != nil {
		return nil, nil, fmt.Errorf("marshal signed device identity: %w", err)
	}
	mac := hmac.New(sha256.New, q.advSecret)
	mac.Write(signed)
	container, err = proto.Marshal(&waAdv.ADVSignedDeviceIdentityHMAC{Details: signed, HMAC: mac.Sum(nil)})
	if err != nil {
		return nil, nil, fmt.Errorf("marshal identity container: %w", err)
	}
	return container, details, nil
}

// finishPairing checks the client's pair-device-sign answer (its device
// signature over [6,1] || details || its identity key || the account key),
// records the device and sends stream:error 515.
func (p *Phone) finishPairing(pc *pairingConn, devID uint16, q *qrCode, details []byte, answer *waBinary.Node) error {
	if answer.Attrs["type"] != "result" {
		return fmt.Errorf("client rejected pairing: %s", answer.String())
	}
	idNode := answer.GetChildByTag("pair-device-sign", "device-identity")
	raw, _ := idNode.Content.([]byte)
	var signed waAdv.ADVSignedDeviceIdentity
	if err := proto.Unmarshal(raw, &signed); err != nil {
		return fmt.Errorf("parse pair-device-sign identity: %w", err)
	}
	if !bytes.Equal(signed.GetDetails(), details) {
		return errors.New("client signed different device details")
	}
	if len(signed.GetDeviceSignature()) != 64 {
		return fmt.Errorf("device signature has %d bytes", len(signed.GetDeviceSignature()))
	}
	msg := slices.Concat(whatsmeow.AdvDeviceSignaturePrefix, details, q.identity[:], p.identity.Pub[:])
	if !ecc.VerifySignature(ecc.NewDjbECPublicKey(q.identity), msg, [64]byte(signed.GetDeviceSignature())) {
		return errors.New("device signature does not verify")
	}

	reg := pc.reg
	dev := &device{phone: p, id: devID, noiseKey: q.noiseKey, identityKey: q.identity}
	if len(reg.GetERegid()) == 4 {
		dev.registrationID = binary.BigEndian.Uint32(reg.GetERegid())
	}
	if len(reg.GetESkeyID()) == 3 && len(reg.GetESkeyVal()) == 32 && len(reg.GetESkeySig()) == 64 {
		dev.signedPreKey = &preKey{
			id:        uint32(reg.ESkeyID[0])<<16 | uint32(reg.ESkeyID[1])<<8 | uint32(reg.ESkeyID[2]),
			pub:       [32]byte(reg.GetESkeyVal()),
			signature: reg.GetESkeySig(),
		}
	}
	s := p.sim
	s.mu.Lock()
	p.devices[devID] = dev
	delete(s.pairing, pc.conn.noiseKey)
	notify := s.devicesNotificationLocked(p, "add", devID)
	s.mu.Unlock()
	s.deliver(notify)
	s.log.Info().Stringer("device", p.deviceJID(devID, false)).Stringer("lid", p.deviceJID(devID, true)).Msg("Device paired")

	// 515 makes whatsmeow reconnect and log in with the new identity.
	if err := pc.conn.send(waBinary.Node{Tag: "stream:error", Attrs: waBinary.Attrs{"code": "515"}}); err != nil {
		return fmt.Errorf("send stream:error 515: %w", err)
	}
	pc.conn.closeSoon("restart required")
	return nil
}

// handlePairAnswer routes a client's IQ answer to a pending pair-success.
// It reports whether the IQ was one.
func (s *Sim) handlePairAnswer(c *conn, node *waBinary.Node) bool {
	id, _ := node.Attrs["id"].(string)
	s.mu.Lock()
	pc := s.pairing[c.noiseKey]
	ours := pc != nil && pc.conn == c && pc.pairID != "" && id == pc.pairID
	s.mu.Unlock()
	if !ours {
		return false
	}
	select {
	case pc.signed <- node:
	default:
	}
	return true
}

// login authenticates a paired device by its phone number, device number
// and Noise key, then sends <success> and anything queued for it.
func (s *Sim) login(c *conn, payload *waWa6.ClientPayload) bool {
	user := fmt.Sprintf("%d", payload.GetUsername())
	s.mu.Lock()
	p := s.byPN[user]
	var dev *device
	if p != nil {
		dev = p.devices[uint16(payload.GetDevice())]
	}
	if dev == nil || dev.noiseKey != c.noiseKey {
		s.mu.Unlock()
		c.log.Warn().Str("user", user).Uint32("device", payload.GetDevice()).Msg("Login for unknown device, sending failure 401")
		// 401 is what WhatsApp sends to a device the phone unlinked;
		// whatsmeow then reports LoggedOut and deletes its store.
		_ = c.send(waBinary.Node{Tag: "failure", Attrs: waBinary.Attrs{"reason": "401"}})
		c.drain(2 * time.Second)
		return false
	}
	old := dev.conn
	c.log = c.log.With().Stringer("device", p.deviceJID(dev.id, false)).Logger()
	c.dev = dev
	// From here on new stanzas are sent to c directly; the backlog is
	// snapshotted in the same critical section, so nothing is sent twice.
	dev.conn = c
	backlog := pendingNodesLocked(dev)
	pushName := p.pushName
	s.mu.Unlock()
	if old != nil {
		// A second login replaces the first, as on WhatsApp.
		_ = old.send(waBinary.Node{Tag: "stream:error", Content: []waBinary.Node{{Tag: "conflict", Attrs: waBinary.Attrs{"type": "replaced"}}}})
		old.closeSoon("replaced")
	}
	err := c.send(waBinary.Node{Tag: "success", Attrs: waBinary.Attrs{
		"t":            time.Now().Unix(),
		"lid":          p.deviceJID(dev.id, true),
		"display_name": pushName,
		"creation":     time.Now().Add(-24 * time.Hour).Unix(),
	}})
	if err != nil {
		return false
	}
	c.log.Info().Int("backlog", len(backlog)).Msg("Device logged in")
	s.sendBacklog(c, backlog)
	return true
}
