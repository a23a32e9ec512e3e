package wasim

import (
	"context"
	"errors"
	"fmt"
	mathrand "math/rand/v2"
	"time"

	"go.mau.fi/libsignal/ecc"
	"go.mau.fi/libsignal/keys/identity"
	"go.mau.fi/libsignal/keys/prekey"
	"go.mau.fi/libsignal/protocol"
	"go.mau.fi/libsignal/session"
	"go.mau.fi/libsignal/state/record"
	"go.mau.fi/libsignal/util/optional"
	waBinary "go.mau.fi/whatsmeow/binary"
	"go.mau.fi/whatsmeow/proto/waE2E"
	"go.mau.fi/whatsmeow/store"
	"google.golang.org/protobuf/proto"
)

// phoneSignal is the Signal state of the phone (device 0) for messages it
// sends to its own linked devices, such as history sync notifications.
// Its identity key is the account key: whatsmeow trusts exactly that key
// for the main device (pair.go stores AccountSignatureKey as the identity
// of LID device 0). The phone only sends, so it keeps sessions and no
// prekeys of its own.
type phoneSignal struct {
	identity *identity.KeyPair
	regID    uint32
	sessions map[string]*record.Session
}

var errPhoneHasNoPreKeys = errors.New("the simulated phone has no prekeys")

func (p *Phone) signalLocked() *phoneSignal {
	if p.signal == nil {
		p.signal = &phoneSignal{
			identity: identity.NewKeyPair(identity.NewKey(ecc.NewDjbECPublicKey(*p.identity.Pub)), ecc.NewDjbECPrivateKey(*p.identity.Priv)),
			regID:    uint32(mathrand.IntN(16380) + 1),
			sessions: make(map[string]*record.Session),
		}
	}
	return p.signal
}

// store.Session
func (ps *phoneSignal) LoadSession(_ context.Context, a *protocol.SignalAddress) (*record.Session, error) {
	if s, ok := ps.sessions[a.String()]; ok {
		return s, nil
	}
	return record.NewSession(store.SignalProtobufSerializer.Session, store.SignalProtobufSerializer.State), nil
}
func (ps *phoneSignal) GetSubDeviceSessions(context.Context, string) ([]uint32, error) {
	return nil, nil
}
func (ps *phoneSignal) StoreSession(_ context.Context, a *protocol.SignalAddress, r *record.Session) error {
	ps.sessions[a.String()] = r
	return nil
}
func (ps *phoneSignal) ContainsSession(_ context.Context, a *protocol.SignalAddress) (bool, error) {
	_, ok := ps.sessions[a.String()]
	return ok, nil
}
func (ps *phoneSignal) DeleteSession(_ context.Context, a *protocol.SignalAddress) error {
	delete(ps.sessions, a.String())
	return nil
}
func (ps *phoneSignal) DeleteAllSessions(context.Context) error {
	clear(ps.sessions)
	return nil
}

// store.PreKey and store.SignedPreKey: never needed for sending.
func (ps *phoneSignal) LoadPreKey(context.Context, uint32) (*record.PreKey, error) {
	return nil, errPhoneHasNoPreKeys
}
func (ps *phoneSignal) StorePreKey(context.Context, uint32, *record.PreKey) error { return nil }
func (ps *phoneSignal) ContainsPreKey(context.Context, uint32) (bool, error)      { return false, nil }
func (ps *phoneSignal) RemovePreKey(context.Context, uint32) error                { return nil }
func (ps *phoneSignal) LoadSignedPreKey(context.Context, uint32) (*record.SignedPreKey, error) {
	return nil, errPhoneHasNoPreKeys
}
func (ps *phoneSignal) LoadSignedPreKeys(context.Context) ([]*record.SignedPreKey, error) {
	return nil, nil
}
func (ps *phoneSignal) StoreSignedPreKey(context.Context, uint32, *record.SignedPreKey) error {
	return nil
}
func (ps *phoneSignal) ContainsSignedPreKey(context.Context, uint32) (bool, error) { return false, nil }
func (ps *phoneSignal) RemoveSignedPreKey(context.Context, uint32) error           { return nil }

// store.IdentityKey: the phone trusts its own linked devices' keys, which
// it has just signed.
func (ps *phoneSignal) GetIdentityKeyPair() *identity.KeyPair { return ps.identity }
func (ps *phoneSignal) GetLocalRegistrationID() uint32        { return ps.regID }
func (ps *phoneSignal) SaveIdentity(context.Context, *protocol.SignalAddress, *identity.Key) error {
	return nil
}
func (ps *phoneSignal) IsTrustedIdentity(context.Context, *protocol.SignalAddress, *identity.Key) (bool, error) {
	return true, nil
}

// encryptForDeviceLocked Signal-encrypts a message from the phone to one
// of its linked devices, starting a session from the device's uploaded
// prekeys if there is none, and returns the <enc> node.
func (p *Phone) encryptForDeviceLocked(ctx context.Context, d *device, msg *waE2E.Message) (waBinary.Node, error) {
	plaintext, err := proto.Marshal(msg)
	if err != nil {
		return waBinary.Node{}, fmt.Errorf("marshal message: %w", err)
	}
	ps := p.signalLocked()
	addr := p.deviceJID(d.id, true).SignalAddress()
	builder := session.NewBuilder(ps, ps, ps, ps, addr, store.SignalProtobufSerializer)
	if has, _ := ps.ContainsSession(ctx, addr); !has {
		if d.signedPreKey == nil {
			return waBinary.Node{}, fmt.Errorf("device %d has no signed prekey", d.id)
		}
		preKeyID := optional.NewEmptyUint32()
		var preKeyPub ecc.ECPublicKeyable
		if len(d.preKeys) > 0 {
			preKeyID = optional.NewOptionalUint32(d.preKeys[0].id)
			preKeyPub = ecc.NewDjbECPublicKey(d.preKeys[0].pub)
			d.preKeys = d.preKeys[1:]
		}
		bundle := prekey.NewBundle(d.registrationID, uint32(d.id), preKeyID, d.signedPreKey.id, preKeyPub,
			ecc.NewDjbECPublicKey(d.signedPreKey.pub), [64]byte(d.signedPreKey.signature),
			identity.NewKey(ecc.NewDjbECPublicKey(d.identityKey)))
		if err = builder.ProcessBundle(ctx, bundle); err != nil {
			return waBinary.Node{}, fmt.Errorf("start session with device %d: %w", d.id, err)
		}
	}
	ct, err := session.NewCipher(builder, addr).Encrypt(ctx, padMessage(plaintext))
	if err != nil {
		return waBinary.Node{}, fmt.Errorf("encrypt for device %d: %w", d.id, err)
	}
	typ := "msg"
	if ct.Type() == protocol.PREKEY_TYPE {
		typ = "pkmsg"
	}
	return waBinary.Node{Tag: "enc", Attrs: waBinary.Attrs{"v": "2", "type": typ}, Content: ct.Serialize()}, nil
}

// padMessage is whatsmeow's random 1-15 byte padding, which receivers
// check (message.go unpadMessage).
func padMessage(plaintext []byte) []byte {
	n := byte(mathrand.IntN(15) + 1)
	for range n {
		plaintext = append(plaintext, n)
	}
	return plaintext
}

// sendFromPhone delivers a message from the phone to every linked device
// of the account, queued like any message until the device receipts it.
func (p *Phone) sendFromPhone(ctx context.Context, id string, msg *waE2E.Message) error {
	s := p.sim
	s.mu.Lock()
	var deliveries []delivery
	var errs []error
	for _, devID := range p.deviceIDs() {
		d := p.devices[devID]
		enc, err := p.encryptForDeviceLocked(ctx, d, msg)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		out := waBinary.Node{Tag: "message", Attrs: waBinary.Attrs{
			"from": p.deviceJID(0, true), "sender_pn": p.deviceJID(0, false),
			"id": id, "t": time.Now().Unix(), "type": "text",
		}, Content: []waBinary.Node{enc}}
		deliveries = append(deliveries, s.enqueueLocked(d, out))
	}
	s.mu.Unlock()
	s.deliver(deliveries)
	return errors.Join(errs...)
}
