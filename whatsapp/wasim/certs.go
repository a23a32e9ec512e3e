package wasim

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"fmt"
	"math/big"
	"net"
	"sync"
	"time"

	"go.mau.fi/libsignal/ecc"
	"go.mau.fi/whatsmeow"
	"go.mau.fi/whatsmeow/proto/waCert"
	"go.mau.fi/whatsmeow/util/keys"
	"google.golang.org/protobuf/proto"
)

// tlsHosts are the names whatsmeow dials: the chat websocket on
// web.whatsapp.com and media on *.whatsapp.net (mmg.whatsapp.net and the
// hosts a media_conn answer lists).
var tlsHosts = []string{"web.whatsapp.com", "*.whatsapp.net", "*.whatsapp.com", "whatsapp.net", "whatsapp.com"}

// makeTLS creates a throwaway CA and a server certificate for tlsHosts
// signed by it. The CA pool goes into the clients' transports only, never
// into the system pool.
func makeTLS() (*tls.Config, *x509.CertPool, error) {
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, nil, fmt.Errorf("generate CA key: %w", err)
	}
	now := time.Now()
	caTmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "wasim throwaway CA"},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.Add(24 * time.Hour),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature,
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		return nil, nil, fmt.Errorf("create CA certificate: %w", err)
	}
	caCert, err := x509.ParseCertificate(caDER)
	if err != nil {
		return nil, nil, fmt.Errorf("parse CA certificate: %w", err)
	}
	leafKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, nil, fmt.Errorf("generate server key: %w", err)
	}
	leafTmpl := &x509.Certificate{
		SerialNumber: big.NewInt(2),
		Subject:      pkix.Name{CommonName: "web.whatsapp.com"},
		DNSNames:     tlsHosts,
		IPAddresses:  []net.IP{net.IPv4(127, 0, 0, 1)},
		NotBefore:    now.Add(-time.Hour),
		NotAfter:     now.Add(24 * time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	leafDER, err := x509.CreateCertificate(rand.Reader, leafTmpl, caCert, &leafKey.PublicKey, caKey)
	if err != nil {
		return nil, nil, fmt.Errorf("create server certificate: %w", err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(caCert)
	cfg := &tls.Config{
		Certificates: []tls.Certificate{{Certificate: [][]byte{leafDER, caDER}, PrivateKey: leafKey}},
		// HTTP/1.1 only: the websocket upgrade needs it.
		NextProtos: []string{"http/1.1"},
		MinVersion: tls.VersionTLS12,
	}
	return cfg, pool, nil
}

// The Noise certificate root is generated once per process and installed
// in whatsmeow.WACertPubKey, a process-global variable. One root for all
// simulators means simulators may run side by side; the previous value is
// restored when the last simulator closes.
var (
	rootMu       sync.Mutex
	rootKey      *keys.KeyPair
	rootUsers    int
	savedRootKey [32]byte
)

// acquireRoot installs the test root key in whatsmeow.WACertPubKey and
// returns it.
func acquireRoot() *keys.KeyPair {
	rootMu.Lock()
	defer rootMu.Unlock()
	if rootKey == nil {
		rootKey = keys.NewKeyPair()
	}
	if rootUsers == 0 {
		savedRootKey = whatsmeow.WACertPubKey
		whatsmeow.WACertPubKey = *rootKey.Pub
	}
	rootUsers++
	return rootKey
}

// releaseRoot restores the real WhatsApp root key once no simulator is
// left running.
func releaseRoot() {
	rootMu.Lock()
	defer rootMu.Unlock()
	rootUsers--
	if rootUsers == 0 {
		whatsmeow.WACertPubKey = savedRootKey
	}
}

// makeCertChain builds the chain whatsmeow's verifyServerCert accepts
// (handshake.go): an intermediate with issuer serial WACertIssuerSerial
// signed by the root, and a leaf naming the server's Noise static key
// signed by the intermediate. Validity is checked against the real clock.
func makeCertChain(root *keys.KeyPair, static [32]byte) ([]byte, error) {
	inter := keys.NewKeyPair()
	now := time.Now()
	notBefore := uint64(now.Add(-time.Hour).Unix())
	notAfter := uint64(now.Add(24 * time.Hour).Unix())
	interDetails, err := proto.Marshal(&waCert.CertChain_NoiseCertificate_Details{
		Serial:       proto.Uint32(1),
		IssuerSerial: proto.Uint32(whatsmeow.WACertIssuerSerial),
		Key:          inter.Pub[:],
		NotBefore:    proto.Uint64(notBefore),
		NotAfter:     proto.Uint64(notAfter),
	})
	if err != nil {
		return nil, fmt.Errorf("marshal intermediate details: %w", err)
	}
	leafDetails, err := proto.Marshal(&waCert.CertChain_NoiseCertificate_Details{
		Serial:       proto.Uint32(2),
		IssuerSerial: proto.Uint32(1),
		Key:          static[:],
		NotBefore:    proto.Uint64(notBefore),
		NotAfter:     proto.Uint64(notAfter),
	})
	if err != nil {
		return nil, fmt.Errorf("marshal leaf details: %w", err)
	}
	interSig := ecc.CalculateSignature(ecc.NewDjbECPrivateKey(*root.Priv), interDetails)
	leafSig := ecc.CalculateSignature(ecc.NewDjbECPrivateKey(*inter.Priv), leafDetails)
	chain, err := proto.Marshal(&waCert.CertChain{
		Intermediate: &waCert.CertChain_NoiseCertificate{Details: interDetails, Signature: interSig[:]},
		Leaf:         &waCert.CertChain_NoiseCertificate{Details: leafDetails, Signature: leafSig[:]},
	})
	if err != nil {
		return nil, fmt.Errorf("marshal certificate chain: %w", err)
	}
	return chain, nil
}
