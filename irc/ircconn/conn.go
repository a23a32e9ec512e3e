package ircconn

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
	"unique"

	"github.com/rs/zerolog"
	"gopkg.in/irc.v4"
)

// DefaultCaps are the capabilities requested when offered, unless
// Config.Caps says otherwise. "sasl" is added on its own when
// Config.SASL is set.
var DefaultCaps = []string{
	"server-time", "message-tags", "echo-message", "labeled-response", "batch",
	"multi-prefix", "away-notify", "account-notify", "account-tag", "extended-join",
	"chghost", "userhost-in-names", "cap-notify", "setname", "invite-notify",
	"draft/chathistory",
}

// SASL configures SASL authentication during registration.
type SASL struct {
	// Mechanism is "PLAIN", "EXTERNAL" (needs Config.ClientCert) or ""
	// for none.
	Mechanism string
	// Username and Password for PLAIN.
	Username, Password string
	// Required makes a SASL failure fail registration with KindSASL (a
	// server without SASL or the mechanism: KindSASLUnavailable);
	// otherwise the connection goes on unauthenticated.
	Required bool
}

// Config describes one connection. Zero durations and sizes take the
// defaults named on each field.
type Config struct {
	Addr string // host:port
	TLS  bool
	// TLSInsecure skips certificate verification: for tests only.
	TLSInsecure bool
	// TLSConfig is an optional base TLS config (cloned); ServerName
	// defaults to Addr's host.
	TLSConfig *tls.Config
	// ClientCert is presented over TLS, for CertFP and SASL EXTERNAL.
	ClientCert  *tls.Certificate
	DialTimeout time.Duration // default 15 s
	// Dialer replaces net.Dialer, e.g. for a proxy or a bind address.
	Dialer func(ctx context.Context, network, addr string) (net.Conn, error)

	Password string // server password (PASS), if any
	Nick     string // wanted nick
	User     string // username (ident); default Nick
	RealName string // default Nick
	SASL     SASL
	Caps     []string // capabilities wanted when offered; nil: DefaultCaps
	NickLen  int      // NICKLEN known from an earlier connection, 0 if not

	RegisterTimeout time.Duration // whole registration, default 60 s

	// Flood control: one line per Rate with bursts of Burst lines
	// (default 2 s and 5, common network settings), or no limit at all
	// with Unlimited, for servers that exempt the bridge.
	Rate      time.Duration
	Burst     int
	Unlimited bool
	QueueSize int // most lines waiting to be sent, default 256

	IdleTimeout  time.Duration // silence before a keepalive PING, default 90 s
	PingTimeout  time.Duration // wait for any answer after it, default 30 s
	WriteTimeout time.Duration // per line, default 30 s
	QuitTimeout  time.Duration // how long the server gets to hang up after QUIT, default 3 s

	// Handler receives every message from the server, tags intact, in
	// order: during registration on Dial's goroutine (001, 005, MOTD,
	// notices), then on a goroutine the reader starts for each batch of
	// lines it read; never concurrently. It should return quickly:
	// nothing is read while it runs.
	Handler func(*irc.Message)
	// Logger carries the caller's context (network, user); zero: silent.
	Logger zerolog.Logger
}

// settings are the parts of a Config a Conn keeps. Every connection to a
// network has the same ones, so they are interned (Conn.set) rather than
// copied into each Conn.
type settings struct {
	wantCaps                                  string // Config.Caps, space-separated
	idle, pingTimeout, writeTimeout, quitWait time.Duration
	rate                                      time.Duration // 0: unlimited
	burst, queueSize                          int
}

func (cfg *Config) setDefaults() {
	def := func(d *time.Duration, v time.Duration) {
		if *d <= 0 {
			*d = v
		}
	}
	def(&cfg.DialTimeout, 15*time.Second)
	def(&cfg.RegisterTimeout, 60*time.Second)
	def(&cfg.Rate, 2*time.Second)
	def(&cfg.IdleTimeout, 90*time.Second)
	def(&cfg.PingTimeout, 30*time.Second)
	def(&cfg.WriteTimeout, 30*time.Second)
	def(&cfg.QuitTimeout, 3*time.Second)
	if cfg.Burst <= 0 {
		cfg.Burst = 5
	}
	if cfg.QueueSize <= 0 {
		cfg.QueueSize = 256
	}
	if cfg.Unlimited {
		cfg.Rate = 0
	}
	if cfg.Caps == nil {
		cfg.Caps = DefaultCaps
	}
	if cfg.User == "" {
		cfg.User = SanitizeNick(cfg.Nick)
	}
	if cfg.RealName == "" {
		cfg.RealName = cfg.Nick
	}
}

// Conn is one registered client connection. All methods are safe for
// concurrent use.
type Conn struct {
	nc      net.Conn
	lr      lineReader
	log     zerolog.Logger
	handler func(*irc.Message)

	wantNick string
	set      unique.Handle[settings]

	isupport atomic.Pointer[ISupport]

	mu       sync.Mutex // guards the fields down to err
	nick     string
	user     string // learned from the server; "" until then
	host     string
	account  string
	caps     *capSet // enabled, shared with other connections (internCaps)
	labels   map[string]chan LabeledReply
	labelSeq uint64
	err      error
	srvErr   *ServerError // last ERROR line, the likely cause of the EOF after it

	wmu      sync.Mutex // guards the write side, down to done
	q        writeQueue
	quitting bool // Close or a QUIT was sent: nothing more is queued
	closing  bool // fail ran: the writer stops, nothing is queued
	// The writer goroutine runs only while there is something to write
	// (see signal): an idle connection keeps just its reader, not a
	// second goroutine and stack.
	writerOn  bool
	ended     bool     // live reached 0: done is closed (if made)
	live      int32    // goroutines running: the reader, and the writer if on
	afterDone []func() // AfterDone's functions, run once ended
	// wake (cap 1, "the queue changed") is made by the writer the first
	// time it waits for flood control, and done by the first Done: most
	// connections never need either, and each channel costs 96 bytes.
	wake      chan struct{}
	done      chan struct{}
	quitAt    atomic.Int64 // unix nanos after which the reader gives up waiting for the server to hang up
	inHandler atomic.Bool
	failed    atomic.Bool // fail has run (first cause wins)
	closed    atomic.Bool // Close has run

	// The reader's side: readLoop and the afterRead goroutine it waits
	// for (handling) take turns with these, never at once.
	pinged    bool // keepalive PING sent, no line since
	readEnded bool // the reader is done
	handling  sync.WaitGroup
	batches   map[string]*labelBatch // open labeled-response batches
}

// Dial connects and registers. It returns once the server has welcomed the
// client and finished its greeting (end of MOTD), or with an error that
// KindOf classifies. The context bounds dialing and registration only.
func Dial(ctx context.Context, cfg Config) (*Conn, error) {
	cfg.setDefaults()
	if cfg.Addr == "" {
		return nil, errors.New("ircconn: no address")
	}
	if cfg.SASL.Mechanism != "" && cfg.SASL.Mechanism != "PLAIN" && cfg.SASL.Mechanism != "EXTERNAL" {
		return nil, fmt.Errorf("ircconn: unsupported SASL mechanism %q", cfg.SASL.Mechanism)
	}
	nc, err := dial(ctx, &cfg)
	if err != nil {
		return nil, err
	}
	c := &Conn{
		nc:       nc,
		log:      cfg.Logger,
		handler:  cfg.Handler,
		wantNick: cfg.Nick,
		set: unique.Make(settings{
			wantCaps:     strings.Join(cfg.Caps, " "),
			idle:         cfg.IdleTimeout,
			pingTimeout:  cfg.PingTimeout,
			writeTimeout: cfg.WriteTimeout,
			quitWait:     cfg.QuitTimeout,
			rate:         cfg.Rate,
			burst:        cfg.Burst,
			queueSize:    cfg.QueueSize,
		}),
	}
	if sc, ok := nc.(syscall.Conn); ok && canPeek {
		// Plain TCP: wait for data without a buffer (lineReader.fill).
		if rc, err := sc.SyscallConn(); err == nil {
			c.lr.rc = rc
		}
	}
	c.isupport.Store(DefaultISupport())
	if err := c.register(ctx, &cfg); err != nil {
		nc.Close()
		return nil, err
	}
	c.live = 1
	go c.readLoop() // the writer starts with the first line queued
	return c, nil
}

func dial(ctx context.Context, cfg *Config) (net.Conn, error) {
	dctx, cancel := context.WithTimeout(ctx, cfg.DialTimeout)
	defer cancel()
	dialFn := cfg.Dialer
	if dialFn == nil {
		d := &net.Dialer{KeepAlive: -1} // IRC has its own keepalive (PING)
		dialFn = d.DialContext
	}
	nc, err := dialFn(dctx, "tcp", cfg.Addr)
	if err != nil {
		return nil, fmt.Errorf("ircconn: dial %s: %w", cfg.Addr, err)
	}
	if !cfg.TLS {
		return nc, nil
	}
	tc := &tls.Config{}
	if cfg.TLSConfig != nil {
		tc = cfg.TLSConfig.Clone()
	}
	if tc.ServerName == "" {
		if host, _, err := net.SplitHostPort(cfg.Addr); err == nil {
			tc.ServerName = host
		}
	}
	if cfg.TLSInsecure {
		tc.InsecureSkipVerify = true
	}
	if cfg.ClientCert != nil {
		tc.Certificates = []tls.Certificate{*cfg.ClientCert}
	}
	tlsConn := tls.Client(nc, tc)
	if err := tlsConn.HandshakeContext(dctx); err != nil {
		nc.Close()
		return nil, fmt.Errorf("ircconn: TLS handshake with %s: %w", cfg.Addr, err)
	}
	return tlsConn, nil
}

// Nick returns the nick the server knows this client by.
func (c *Conn) Nick() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.nick
}

// Account returns the account SASL logged in to, or "".
func (c *Conn) Account() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.account
}

// Source returns "nick!user@host" as the server shows this client to
// others, or just the nick while user and host are unknown.
func (c *Conn) Source() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.user == "" || c.host == "" {
		return c.nick
	}
	return c.nick + "!" + c.user + "@" + c.host
}

// SourceLen is len(Source()) once user and host are known, else a
// conservative estimate from USERLEN and HOSTLEN (or 10 and 63), so that
// split lines never exceed the line limit (see ISupport.MaxLine) when
// relayed.
func (c *Conn) SourceLen() int {
	c.mu.Lock()
	nick, user, host := c.nick, c.user, c.host
	c.mu.Unlock()
	if user != "" && host != "" {
		return len(nick) + 1 + len(user) + 1 + len(host)
	}
	is := c.ISupport()
	userLen, hostLen := is.UserLen, is.HostLen
	if userLen <= 0 {
		userLen = 10
	}
	if hostLen <= 0 {
		hostLen = 63
	}
	return len(nick) + 1 + userLen + 1 + 1 + hostLen // +1: a '~' ident prefix
}

// SplitText splits text for a PRIVMSG or NOTICE to target from this
// client; see the SplitText function. The relayed lines fit in the
// server's LINELEN rather than 512 bytes when it announces one.
func (c *Conn) SplitText(target, text string) []string {
	return splitWithin(textBudget(c.ISupport().MaxLine(), c.SourceLen(), target), "", text)
}

// SplitTextPrefixed splits text for a PRIVMSG or NOTICE to target from
// this client, with lead at the start of every piece; see the
// SplitTextPrefixed function and SplitText.
func (c *Conn) SplitTextPrefixed(target, lead, text string) []string {
	return splitWithin(textBudget(c.ISupport().MaxLine(), c.SourceLen(), target)-len(lead), lead, text)
}

// ISupport returns the server's ISUPPORT (defaults before any 005).
// Do not modify it.
func (c *Conn) ISupport() *ISupport { return c.isupport.Load() }

// Caps returns the enabled capabilities, sorted.
func (c *Conn) Caps() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return slices.Clone(c.caps.list())
}

// HasCap reports whether capability name is enabled.
func (c *Conn) HasCap(name string) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	_, ok := slices.BinarySearch(c.caps.list(), name)
	return ok
}

// RegainNick asks for the wanted nick again when registration had to fall
// back to another one. The answer arrives as a NICK (the Conn updates
// Nick) or a 433 passed to the handler.
func (c *Conn) RegainNick() error {
	if c.ISupport().Equal(c.Nick(), c.wantNick) {
		return nil
	}
	return c.Send(&irc.Message{Command: "NICK", Params: []string{c.wantNick}})
}

// Done is closed when the connection has ended and its goroutines have
// exited.
func (c *Conn) Done() <-chan struct{} {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	if c.done == nil {
		c.done = make(chan struct{})
		if c.ended {
			close(c.done)
		}
	}
	return c.done
}

// Ended reports whether the connection has ended and its goroutines have
// exited, as a closed Done would, without making Done's channel.
func (c *Conn) Ended() bool {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	return c.ended
}

// Err says why the connection ended (nil while it runs): ErrClosed after
// Close, a *ServerError after an ERROR line, ErrPingTimeout, or the I/O
// error. KindOf classifies it.
func (c *Conn) Err() error {
	if !c.Ended() {
		return nil
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.err
}

// Close sends QUIT with the given reason ahead of everything queued (which
// is dropped), waits for the server to hang up, at most QuitTimeout after
// the QUIT is written, and closes. Called while the Handler runs (from it,
// typically) it returns at once instead, since the reader cannot end
// before the handler returns; Done tells when it has. It always returns
// nil; Err says how the connection ended.
func (c *Conn) Close(reason string) error {
	if !c.closed.Swap(true) {
		quit := &irc.Message{Command: "QUIT", Params: []string{reason}}
		line, err := appendMessage(nil, quit, "", MaxLineLen)
		if err != nil {
			line = []byte("QUIT\r\n") // a reason we may not send is no reason to stay
		}
		c.wmu.Lock()
		c.quitting = true
		dropped := c.q.clear()
		c.q.pushUrgent(line, true)
		c.wmu.Unlock()
		c.settleDropped(dropped, ErrClosed)
		c.signal()
	}
	if c.inHandler.Load() {
		return nil
	}
	// The writer has WriteTimeout to get the QUIT out and the reader
	// QuitTimeout after that; this timer only guards against a bug.
	set := c.set.Value()
	timer := time.NewTimer(set.writeTimeout + set.quitWait + time.Second)
	defer timer.Stop()
	done := c.Done()
	select {
	case <-done:
	case <-timer.C:
		c.fail(ErrClosed)
		<-done
	}
	return nil
}

// fail ends the connection with err as its cause (the first cause wins)
// and wakes both goroutines.
func (c *Conn) fail(err error) {
	if c.failed.Swap(true) {
		return
	}
	c.mu.Lock()
	if c.err == nil {
		c.err = err
	}
	labels := c.labels
	c.labels = nil
	c.mu.Unlock()
	c.wmu.Lock()
	c.closing = true
	wake := c.wake
	c.wmu.Unlock()
	if wake != nil {
		select {
		case wake <- struct{}{}: // a writer waiting for flood control stops
		default:
		}
	}
	c.nc.Close()
	c.log.Debug().Err(err).Str("kind", KindOf(err).String()).Msg("IRC connection ended")
	for _, ch := range labels {
		ch <- LabeledReply{Err: ErrClosed}
	}
}

// exit is deferred by both goroutines; the last one out closes done.
// Counting under wmu, where signal starts writers, means no writer can
// start after that.
func (c *Conn) exit() {
	c.wmu.Lock()
	c.live--
	last := c.live == 0
	var after []func()
	var done chan struct{}
	var dropped []queued
	if last {
		// Lines still queued when the writer stopped (the connection
		// failed while they waited for flood control) are lost: say so
		// before Done, so whoever waits on Done finds them settled.
		dropped = c.q.clear()
		c.ended = true
		after, c.afterDone = c.afterDone, nil
		done = c.done
	}
	c.wmu.Unlock()
	if last {
		c.settleDropped(dropped, ErrClosed)
		if done != nil {
			close(done)
		}
		for _, f := range after {
			go f()
		}
	}
}

// AfterDone runs f on a goroutine of its own once the connection has
// ended (at once if it has): the way to wait for the end without holding
// a goroutine, and its stack, for the life of an idle connection.
func (c *Conn) AfterDone(f func()) {
	c.wmu.Lock()
	if !c.ended {
		c.afterDone = append(c.afterDone, f)
		c.wmu.Unlock()
		return
	}
	c.wmu.Unlock()
	go f()
}
