package wasim

import (
	"bytes"
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/ecdh"
	"crypto/pbkdf2"
	"crypto/rand"
	"crypto/sha256"
	"errors"
	"fmt"
	"strings"
	"time"

	waBinary "go.mau.fi/whatsmeow/binary"
	"go.mau.fi/whatsmeow/types"
	"go.mau.fi/whatsmeow/util/hkdfutil"
	"go.mau.fi/whatsmeow/util/keys"
)

// codePairing is the state of "link with phone number instead"
// (whatsmeow pair-code.go): the companion's code-wrapped ephemeral key
// from companion_hello, and its companion_finish once the phone answered.
type codePairing struct {
	phone     *Phone
	ref       string
	wrapped   []byte
	finish    chan *waBinary.Node
	notifying bool
}

// linkCodeIterations is whatsmeow's PBKDF2 work factor (2<<16).
const linkCodeIterations = 2 << 16

// handleLinkCodeIQ serves the md link_code_companion_reg IQs an unpaired
// client sends for code pairing.
func (s *Sim) handleLinkCodeIQ(c *conn, node *waBinary.Node) {
	reg := node.GetChildByTag("link_code_companion_reg")
	s.mu.Lock()
	pc := s.pairing[c.noiseKey]
	if pc == nil || pc.conn != c {
		s.mu.Unlock()
		s.reply(c, iqError(node, 400, "bad-request"))
		return
	}
	switch reg.Attrs["stage"] {
	case "companion_hello":
		jid, _ := reg.Attrs["jid"].(types.JID)
		phone := s.lookupUserLocked(jid)
		wrapped, _ := reg.GetChildByTag("link_code_pairing_wrapped_companion_ephemeral_pub").Content.([]byte)
		noise, _ := reg.GetChildByTag("companion_server_auth_key_pub").Content.([]byte)
		if phone == nil || len(wrapped) != 80 || !bytes.Equal(noise, c.noiseKey[:]) {
			s.mu.Unlock()
			c.log.Warn().Stringer("jid", jid).Msg("Rejected pairing-code request")
			s.reply(c, iqError(node, 400, "bad-request"))
			return
		}
		pc.code = &codePairing{phone: phone, ref: randomToken(), wrapped: wrapped, finish: make(chan *waBinary.Node, 1)}
		ref := pc.code.ref
		s.mu.Unlock()
		s.reply(c, iqResult(node, waBinary.Node{Tag: "link_code_companion_reg", Content: []waBinary.Node{
			{Tag: "link_code_pairing_ref", Content: []byte(ref)},
		}}))
	case "companion_finish":
		cp := pc.code
		s.mu.Unlock()
		if cp == nil {
			s.reply(c, iqError(node, 400, "bad-request"))
			return
		}
		select {
		case cp.finish <- node:
		default:
		}
		s.reply(c, iqResult(node))
	default:
		s.mu.Unlock()
		s.unknownIQ(c, node, "md")
	}
}

// EnterPairingCode links the client that asked (with PairPhone) for a
// code for this phone number, as typing the code on the phone does: the
// phone unwraps the companion's ephemeral key with the code, sends its
// own, derives the ADV secret from the companion's key bundle and then
// completes pairing as ScanQR does. A wrong code fails here.
func (p *Phone) EnterPairingCode(ctx context.Context, code string) error {
	code = strings.ToUpper(strings.ReplaceAll(code, "-", ""))
	s := p.sim
	s.mu.Lock()
	var pc *pairingConn
	for _, cand := range s.pairing {
		if cand.code != nil && cand.code.phone == p && !cand.code.notifying {
			pc = cand
			break
		}
	}
	if pc == nil {
		s.mu.Unlock()
		return errors.New("pairing code: no client is waiting for a code for this number")
	}
	cp := pc.code
	cp.notifying = true
	s.mu.Unlock()

	companionEph, err := unwrapLinkKey(code, cp.wrapped)
	if err != nil {
		return fmt.Errorf("pairing code: %w", err)
	}
	phoneEph := keys.NewKeyPair()
	wrappedPrimary, err := wrapLinkKey(code, phoneEph.Pub[:])
	if err != nil {
		return fmt.Errorf("pairing code: %w", err)
	}
	err = pc.conn.send(waBinary.Node{
		Tag: "notification",
		Attrs: waBinary.Attrs{
			"from": types.ServerJID, "type": "link_code_companion_reg", "id": s.nextID(), "t": time.Now().Unix(),
		},
		Content: []waBinary.Node{{Tag: "link_code_companion_reg", Content: []waBinary.Node{
			{Tag: "link_code_pairing_ref", Content: []byte(cp.ref)},
			{Tag: "link_code_pairing_wrapped_primary_ephemeral_pub", Content: wrappedPrimary},
			{Tag: "primary_identity_pub", Content: p.identity.Pub[:]},
		}}},
	})
	if err != nil {
		return fmt.Errorf("pairing code: send notification: %w", err)
	}
	var finish *waBinary.Node
	select {
	case finish = <-cp.finish:
	case <-pc.conn.ctx.Done():
		return errors.New("pairing code: client disconnected")
	case <-ctx.Done():
		return fmt.Errorf("pairing code: %w", ctx.Err())
	}
	q, err := p.openKeyBundle(finish, phoneEph, companionEph)
	if err != nil {
		return fmt.Errorf("pairing code: %w", err)
	}
	q.noiseKey = pc.conn.noiseKey
	if err = p.link(ctx, pc, q); err != nil {
		return fmt.Errorf("pairing code: %w", err)
	}
	return nil
}

// openKeyBundle decrypts the companion's key bundle (its identity key,
// the phone's identity key and a random value) and derives the ADV
// secret exactly as handleCodePairNotification does on the client.
func (p *Phone) openKeyBundle(finish *waBinary.Node, phoneEph *keys.KeyPair, companionEph []byte) (*qrCode, error) {
	reg := finish.GetChildByTag("link_code_companion_reg")
	wrapped, _ := reg.GetChildByTag("link_code_pairing_wrapped_key_bundle").Content.([]byte)
	companionIdent, _ := reg.GetChildByTag("companion_identity_public").Content.([]byte)
	if len(wrapped) < 32+12+16 || len(companionIdent) != 32 {
		return nil, errors.New("malformed companion_finish")
	}
	ephShared, err := x25519(phoneEph.Priv[:], companionEph)
	if err != nil {
		return nil, err
	}
	bundleKey := hkdfutil.SHA256(ephShared, wrapped[:32], []byte("link_code_pairing_key_bundle_encryption_key"), 32)
	block, err := aes.NewCipher(bundleKey)
	if err != nil {
		return nil, err
	}
	gcm, err := cipher.NewGCM(block)
	if err != nil {
		return nil, err
	}
	bundle, err := gcm.Open(nil, wrapped[32:44], wrapped[44:], nil)
	if err != nil {
		// With a wrong code the phone unwrapped a garbage key, so the
		// shared secret, and this decryption, fail.
		return nil, errors.New("cannot open key bundle (wrong code?)")
	}
	if len(bundle) != 96 || !bytes.Equal(bundle[:32], companionIdent) || !bytes.Equal(bundle[32:64], p.identity.Pub[:]) {
		return nil, errors.New("key bundle does not name the expected keys")
	}
	identShared, err := x25519(p.identity.Priv[:], companionIdent)
	if err != nil {
		return nil, err
	}
	advSecret := hkdfutil.SHA256(bytes.Join([][]byte{ephShared, identShared, bundle[64:]}, nil), nil, []byte("adv_secret"), 32)
	return &qrCode{identity: [32]byte(companionIdent), advSecret: advSecret}, nil
}

func linkCodeCipher(code string, salt, iv []byte) (cipher.Stream, error) {
	key, err := pbkdf2.Key(sha256.New, code, salt, linkCodeIterations, 32)
	if err != nil {
		return nil, fmt.Errorf("derive link code key: %w", err)
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	return cipher.NewCTR(block, iv), nil
}

// unwrapLinkKey reverses whatsmeow's generateCompanionEphemeralKey:
// salt(32) || iv(16) || AES-CTR(PBKDF2(code, salt), iv, key).
func unwrapLinkKey(code string, wrapped []byte) ([]byte, error) {
	stream, err := linkCodeCipher(code, wrapped[:32], wrapped[32:48])
	if err != nil {
		return nil, err
	}
	out := make([]byte, 32)
	stream.XORKeyStream(out, wrapped[48:80])
	return out, nil
}

func wrapLinkKey(code string, pub []byte) ([]byte, error) {
	out := make([]byte, 80)
	if _, err := rand.Read(out[:48]); err != nil {
		return nil, err
	}
	stream, err := linkCodeCipher(code, out[:32], out[32:48])
	if err != nil {
		return nil, err
	}
	stream.XORKeyStream(out[48:], pub)
	return out, nil
}

func x25519(priv, pub []byte) ([]byte, error) {
	k, err := ecdh.X25519().NewPrivateKey(priv)
	if err != nil {
		return nil, fmt.Errorf("x25519 private key: %w", err)
	}
	pk, err := ecdh.X25519().NewPublicKey(pub)
	if err != nil {
		return nil, fmt.Errorf("x25519 public key: %w", err)
	}
	return k.ECDH(pk)
}
