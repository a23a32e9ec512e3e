package wasim

import (
	"context"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"errors"
	"fmt"
	stdlog "log"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/coder/websocket"
	"github.com/rs/zerolog"
	"go.mau.fi/whatsmeow"
	"go.mau.fi/whatsmeow/socket"
	"go.mau.fi/whatsmeow/util/keys"
)

// Options configure a simulator.
type Options struct {
	// Log receives the simulator's own log; the zero value discards it.
	Log zerolog.Logger
}

// Sim is a loopback WhatsApp server that unmodified whatsmeow clients
// reach through the HTTP clients Configure installs. Create it with Start.
type Sim struct {
	log       zerolog.Logger
	ln        net.Listener
	srv       *http.Server
	pool      *x509.CertPool
	static    *keys.KeyPair
	certChain []byte
	ctx       context.Context
	cancel    context.CancelFunc
	wg        sync.WaitGroup
	closeOnce sync.Once

	mu         sync.Mutex
	byPN       map[string]*Phone
	byLID      map[string]*Phone
	lidCounter uint64
	// pairing holds connected, unpaired clients by their Noise static key.
	pairing map[[32]byte]*pairingConn
	conns   map[*conn]struct{}
	// groups maps a group JID's user part to the group.
	groups   map[string]*group
	groupSeq uint64
	// media maps a direct path (without query) to the uploaded blob.
	media     map[string][]byte
	mediaAuth string
	idSeq     uint64
}

// Start listens on 127.0.0.1 (a random port) and serves until Close or
// until ctx ends. It installs the simulator's certificate root in the
// process-global whatsmeow.WACertPubKey (see acquireRoot).
func Start(ctx context.Context, opts Options) (*Sim, error) {
	tlsCfg, pool, err := makeTLS()
	if err != nil {
		return nil, fmt.Errorf("wasim: %w", err)
	}
	root := acquireRoot()
	static := keys.NewKeyPair()
	chain, err := makeCertChain(root, *static.Pub)
	if err != nil {
		releaseRoot()
		return nil, fmt.Errorf("wasim: %w", err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		releaseRoot()
		return nil, fmt.Errorf("wasim: listen: %w", err)
	}
	s := &Sim{
		log:       opts.Log.With().Str("component", "wasim").Logger(),
		ln:        ln,
		pool:      pool,
		static:    static,
		certChain: chain,
		byPN:      make(map[string]*Phone),
		byLID:     make(map[string]*Phone),
		pairing:   make(map[[32]byte]*pairingConn),
		conns:     make(map[*conn]struct{}),
		groups:    make(map[string]*group),
		media:     make(map[string][]byte),
		mediaAuth: randomToken(),
	}
	s.ctx, s.cancel = context.WithCancel(context.WithoutCancel(ctx))
	mux := http.NewServeMux()
	mux.HandleFunc("/ws/chat", s.serveWS)
	s.registerMediaRoutes(mux)
	s.srv = &http.Server{
		Handler:           mux,
		TLSConfig:         tlsCfg,
		ReadHeaderTimeout: 10 * time.Second,
		BaseContext:       func(net.Listener) context.Context { return s.ctx },
		// TLS handshake errors from test clients belong in the test log,
		// not on stderr.
		ErrorLog: stdlog.New(httpLogWriter{s.log}, "", 0),
	}
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		err := s.srv.Serve(tls.NewListener(ln, tlsCfg))
		if err != nil && !errors.Is(err, http.ErrServerClosed) {
			s.log.Error().Err(err).Msg("Server stopped")
		}
	}()
	// Close when the caller's context ends, so a test's t.Context() is
	// enough to clean up.
	go func() {
		select {
		case <-ctx.Done():
			s.Close()
		case <-s.ctx.Done():
		}
	}()
	s.log.Info().Str("addr", ln.Addr().String()).Msg("WhatsApp simulator listening")
	return s, nil
}

// Addr is the simulator's listening address (127.0.0.1:port).
func (s *Sim) Addr() string { return s.ln.Addr().String() }

// Close stops the server, drops all connections and restores
// whatsmeow.WACertPubKey once no simulator is left. It is idempotent.
func (s *Sim) Close() {
	s.closeOnce.Do(func() {
		s.cancel()
		s.mu.Lock()
		conns := make([]*conn, 0, len(s.conns))
		for c := range s.conns {
			conns = append(conns, c)
		}
		s.mu.Unlock()
		for _, c := range conns {
			c.close(websocket.StatusGoingAway, "simulator closing")
		}
		shutdownCtx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = s.srv.Shutdown(shutdownCtx)
		s.wg.Wait()
		releaseRoot()
	})
}

// HTTPClient returns a client whose transport sends every request, for
// any host, to the simulator and trusts only its throwaway CA.
func (s *Sim) HTTPClient() *http.Client {
	addr := s.Addr()
	dialer := &net.Dialer{Timeout: 5 * time.Second}
	return &http.Client{
		Transport: &http.Transport{
			DialContext: func(ctx context.Context, network, _ string) (net.Conn, error) {
				return dialer.DialContext(ctx, network, addr)
			},
			TLSClientConfig:     &tls.Config{RootCAs: s.pool, MinVersion: tls.VersionTLS12},
			ForceAttemptHTTP2:   false,
			TLSHandshakeTimeout: 5 * time.Second,
		},
		Timeout: 30 * time.Second,
	}
}

// Configure points a whatsmeow client at the simulator: the pre-login
// client (used while Store.ID is nil), the logged-in websocket client and
// the media client.
func (s *Sim) Configure(cli *whatsmeow.Client) {
	h := s.HTTPClient()
	cli.SetPreLoginHTTPClient(h)
	cli.SetWebsocketHTTPClient(h)
	cli.SetMediaHTTPClient(h)
}

// serveWS runs one client connection: handshake, then either pairing or
// login, then the stanza loop.
func (s *Sim) serveWS(w http.ResponseWriter, r *http.Request) {
	ws, err := websocket.Accept(w, r, &websocket.AcceptOptions{
		// The client sends Origin https://web.whatsapp.com; the simulator
		// has no browser security to enforce.
		InsecureSkipVerify: true,
	})
	if err != nil {
		s.log.Warn().Err(err).Msg("Websocket upgrade failed")
		return
	}
	// The initial prekey upload (812 keys) is larger than the library's
	// 32 KiB default read limit.
	ws.SetReadLimit(socket.FrameMaxSize + 16)
	ctx, cancel := context.WithCancel(s.ctx)
	defer cancel()
	c := &conn{sim: s, ws: ws, fr: &frameReader{ws: ws}, ctx: ctx, cancel: cancel, log: s.log}
	defer c.close(websocket.StatusNormalClosure, "")

	hsCtx, hsCancel := context.WithTimeout(ctx, 20*time.Second)
	defer hsCancel()
	hello, err := c.fr.next(hsCtx)
	if err != nil {
		s.log.Debug().Err(err).Msg("Connection closed before handshake")
		return
	}
	res, err := serverHandshake(c.fr.header, hello, s.static, s.certChain,
		func(b []byte) error { return writeFrame(hsCtx, ws, b) },
		func() ([]byte, error) { return c.fr.next(hsCtx) })
	if err != nil {
		s.log.Warn().Err(err).Msg("Handshake failed")
		return
	}
	c.readKey, c.writeKey, c.noiseKey = res.read, res.write, res.clientStatic

	s.mu.Lock()
	if s.ctx.Err() != nil {
		s.mu.Unlock()
		return
	}
	s.conns[c] = struct{}{}
	s.mu.Unlock()
	defer s.dropConn(c)

	if res.payload.Username != nil {
		if !s.login(c, res.payload) {
			return
		}
	} else if reg := res.payload.GetDevicePairingData(); reg != nil {
		if !s.startPairing(c, reg) {
			return
		}
	} else {
		s.log.Warn().Msg("Client payload is neither login nor registration")
		return
	}
	s.readLoop(c)
}

func (s *Sim) readLoop(c *conn) {
	for {
		node, err := c.readNode()
		if errors.Is(err, errBadNode) {
			c.log.Warn().Err(err).Msg("Skipping undecodable frame")
			continue
		}
		if err != nil {
			if c.ctx.Err() == nil && websocket.CloseStatus(err) == -1 {
				c.log.Debug().Err(err).Msg("Connection ended")
			}
			return
		}
		c.log.Trace().Stringer("node", node).Msg("Recv")
		s.handleNode(c, node)
	}
}

// dropConn forgets a closed connection.
func (s *Sim) dropConn(c *conn) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.conns, c)
	if c.dev != nil && c.dev.conn == c {
		c.dev.conn = nil
	}
	if pc, ok := s.pairing[c.noiseKey]; ok && pc.conn == c {
		delete(s.pairing, c.noiseKey)
	}
}

// httpLogWriter forwards net/http's error log to zerolog at debug level.
type httpLogWriter struct{ log zerolog.Logger }

func (w httpLogWriter) Write(p []byte) (int, error) {
	w.log.Debug().Str("source", "net/http").Msg(strings.TrimSpace(string(p)))
	return len(p), nil
}

func randomToken() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

// nextID returns a fresh id for server-initiated stanzas.
func (s *Sim) nextID() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.idSeq++
	return fmt.Sprintf("wasim-%d", s.idSeq)
}
