package wasim

import (
	"crypto/cipher"
	"crypto/ecdh"
	"crypto/hkdf"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"

	"go.mau.fi/whatsmeow/proto/waWa6"
	"go.mau.fi/whatsmeow/socket"
	"go.mau.fi/whatsmeow/util/gcmutil"
	"go.mau.fi/whatsmeow/util/keys"
	"google.golang.org/protobuf/proto"
)

// noiseState is the server half of WhatsApp's Noise_XX_25519_AESGCM_SHA256
// handshake. whatsmeow's socket.NoiseHandshake cannot be reused: its salt
// is unexported and Finish builds a client socket, so the symmetric state
// is reimplemented here, mirroring socket/noisehandshake.go step by step.
type noiseState struct {
	hash    []byte
	salt    []byte
	key     cipher.AEAD
	counter uint32
}

func newNoiseState(header []byte) (*noiseState, error) {
	pattern := []byte(socket.NoiseStartPattern)
	ns := &noiseState{}
	if len(pattern) == 32 {
		ns.hash = pattern
	} else {
		h := sha256.Sum256(pattern)
		ns.hash = h[:]
	}
	ns.salt = ns.hash
	var err error
	if ns.key, err = gcmutil.Prepare(ns.hash); err != nil {
		return nil, fmt.Errorf("prepare initial cipher: %w", err)
	}
	ns.authenticate(header)
	return ns, nil
}

func (ns *noiseState) authenticate(data []byte) {
	h := sha256.Sum256(append(append([]byte(nil), ns.hash...), data...))
	ns.hash = h[:]
}

func ivFor(counter uint32) []byte {
	iv := make([]byte, 12)
	binary.BigEndian.PutUint32(iv[8:], counter)
	return iv
}

func (ns *noiseState) encrypt(plaintext []byte) []byte {
	ct := ns.key.Seal(nil, ivFor(ns.counter), plaintext, ns.hash)
	ns.counter++
	ns.authenticate(ct)
	return ct
}

func (ns *noiseState) decrypt(ciphertext []byte) ([]byte, error) {
	pt, err := ns.key.Open(nil, ivFor(ns.counter), ciphertext, ns.hash)
	ns.counter++
	if err != nil {
		return nil, err
	}
	ns.authenticate(ciphertext)
	return pt, nil
}

// expand is HKDF-SHA256 producing two 32-byte keys, as extractAndExpand.
func (ns *noiseState) expand(data []byte) (write, read []byte, err error) {
	out, err := hkdf.Key(sha256.New, data, ns.salt, "", 64)
	if err != nil {
		return nil, nil, err
	}
	return out[:32], out[32:], nil
}

func (ns *noiseState) mixDH(priv, pub *[32]byte) error {
	p, err := ecdh.X25519().NewPrivateKey(priv[:])
	if err != nil {
		return fmt.Errorf("load private key: %w", err)
	}
	q, err := ecdh.X25519().NewPublicKey(pub[:])
	if err != nil {
		return fmt.Errorf("load public key: %w", err)
	}
	secret, err := p.ECDH(q)
	if err != nil {
		return fmt.Errorf("x25519: %w", err)
	}
	ns.counter = 0
	write, read, err := ns.expand(secret)
	if err != nil {
		return fmt.Errorf("expand mixed key: %w", err)
	}
	ns.salt = write
	if ns.key, err = gcmutil.Prepare(read); err != nil {
		return fmt.Errorf("prepare mixed cipher: %w", err)
	}
	return nil
}

// transportKeys splits the final state. The client writes with the first
// key and reads with the second, so the server uses them the other way.
func (ns *noiseState) transportKeys() (read, write cipher.AEAD, err error) {
	clientWrite, clientRead, err := ns.expand(nil)
	if err != nil {
		return nil, nil, fmt.Errorf("expand transport keys: %w", err)
	}
	if read, err = gcmutil.Prepare(clientWrite); err != nil {
		return nil, nil, err
	}
	if write, err = gcmutil.Prepare(clientRead); err != nil {
		return nil, nil, err
	}
	return read, write, nil
}

// handshakeResult is what the server learns from a finished handshake.
type handshakeResult struct {
	clientStatic [32]byte
	payload      *waWa6.ClientPayload
	read, write  cipher.AEAD
}

var errHandshake = errors.New("noise handshake")

// serverHandshake runs the responder side: hello is the client's first
// frame, send writes a frame, and recv waits for the next one.
func serverHandshake(header, hello []byte, static *keys.KeyPair, certChain []byte,
	send func([]byte) error, recv func() ([]byte, error)) (*handshakeResult, error) {
	var clientHello waWa6.HandshakeMessage
	if err := proto.Unmarshal(hello, &clientHello); err != nil {
		return nil, fmt.Errorf("%w: parse client hello: %w", errHandshake, err)
	}
	clientEph := clientHello.GetClientHello().GetEphemeral()
	if len(clientEph) != 32 {
		return nil, fmt.Errorf("%w: client ephemeral has %d bytes", errHandshake, len(clientEph))
	}
	clientEphKey := (*[32]byte)(clientEph)
	ns, err := newNoiseState(header)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", errHandshake, err)
	}
	ns.authenticate(clientEph)

	eph := keys.NewKeyPair()
	ns.authenticate(eph.Pub[:])
	if err = ns.mixDH(eph.Priv, clientEphKey); err != nil {
		return nil, fmt.Errorf("%w: mix ephemeral: %w", errHandshake, err)
	}
	staticCT := ns.encrypt(static.Pub[:])
	if err = ns.mixDH(static.Priv, clientEphKey); err != nil {
		return nil, fmt.Errorf("%w: mix static: %w", errHandshake, err)
	}
	certCT := ns.encrypt(certChain)
	serverHello, err := proto.Marshal(&waWa6.HandshakeMessage{ServerHello: &waWa6.HandshakeMessage_ServerHello{
		Ephemeral: eph.Pub[:], Static: staticCT, Payload: certCT,
	}})
	if err != nil {
		return nil, fmt.Errorf("%w: marshal server hello: %w", errHandshake, err)
	}
	if err = send(serverHello); err != nil {
		return nil, fmt.Errorf("%w: send server hello: %w", errHandshake, err)
	}

	finishFrame, err := recv()
	if err != nil {
		return nil, fmt.Errorf("%w: read client finish: %w", errHandshake, err)
	}
	var finish waWa6.HandshakeMessage
	if err = proto.Unmarshal(finishFrame, &finish); err != nil {
		return nil, fmt.Errorf("%w: parse client finish: %w", errHandshake, err)
	}
	clientStatic, err := ns.decrypt(finish.GetClientFinish().GetStatic())
	if err != nil || len(clientStatic) != 32 {
		return nil, fmt.Errorf("%w: decrypt client static (%d bytes): %v", errHandshake, len(clientStatic), err)
	}
	res := &handshakeResult{clientStatic: [32]byte(clientStatic)}
	if err = ns.mixDH(eph.Priv, &res.clientStatic); err != nil {
		return nil, fmt.Errorf("%w: mix client static: %w", errHandshake, err)
	}
	payloadBytes, err := ns.decrypt(finish.GetClientFinish().GetPayload())
	if err != nil {
		return nil, fmt.Errorf("%w: decrypt client payload: %w", errHandshake, err)
	}
	res.payload = &waWa6.ClientPayload{}
	if err = proto.Unmarshal(payloadBytes, res.payload); err != nil {
		return nil, fmt.Errorf("%w: parse client payload: %w", errHandshake, err)
	}
	if res.read, res.write, err = ns.transportKeys(); err != nil {
		return nil, fmt.Errorf("%w: %w", errHandshake, err)
	}
	return res, nil
}
