package ircconn

import (
	"context"
	"errors"
	"fmt"
	"net"
	"slices"
	"strings"
	"time"

	"gopkg.in/irc.v4"
)

// afterWelcomeWait bounds the wait for the end of the greeting (376/422)
// once 001 has arrived: a server that sends no MOTD numeric at all must not
// make Dial look like a failure.
const afterWelcomeWait = 10 * time.Second

// registration is the state of one handshake; it lives on Dial's stack.
type registration struct {
	c       *Conn
	cfg     *Config
	nicks   *nickFallback
	offered map[string]string // CAP LS, accumulated across continuation lines
	lsDone  bool
	pending int // CAP REQ lines not yet ACKed or NAKed
	enabled []string
	capEnd  bool
	sasl    int // saslNone, saslRunning, saslDone
	welcome bool
	// hidden: a 396 has set the host others see (a cloak); the host in
	// 001's welcome text or in 900, which may be the real one, does not
	// replace it.
	hidden bool
	is     *ISupport
	// deadline of the whole registration; also where a cancelled
	// context moved the connection's deadline
	deadline time.Time
}

// register runs the handshake on the caller's goroutine: CAP LS 302 with
// PASS/NICK/USER sent at once (no round trip wasted on servers without
// CAP), CAP REQ of what was offered and wanted, SASL while registration is
// suspended, CAP END last.
func (c *Conn) register(ctx context.Context, cfg *Config) error {
	err := c.handshake(ctx, cfg)
	if err != nil && ctx.Err() != nil {
		// Whatever failed, it failed because the deadline was moved to
		// stop us: report the cancellation.
		return fmt.Errorf("ircconn: registration: %w", ctx.Err())
	}
	return err
}

func (c *Conn) handshake(ctx context.Context, cfg *Config) error {
	deadline := time.Now().Add(cfg.RegisterTimeout)
	if d, ok := ctx.Deadline(); ok && d.Before(deadline) {
		deadline = d
	}
	// Cancelling ctx must interrupt a blocked read: an expired deadline
	// does that without a goroutine of our own.
	stop := context.AfterFunc(ctx, func() { c.nc.SetDeadline(time.Unix(1, 0)) })
	if ctx.Err() != nil {
		deadline = time.Unix(1, 0)
	}
	defer stop()
	c.nc.SetDeadline(deadline)
	defer c.nc.SetDeadline(time.Time{})

	r := &registration{c: c, cfg: cfg, is: DefaultISupport(), deadline: deadline}
	err := r.run()
	var wf *writeFailure
	if errors.As(err, &wf) {
		// A server refusing us at accept time (connection limits,
		// Z-lines) writes ERROR and closes at once, so our pipelined
		// NICK/USER can fail with EPIPE first. The reason is what matters.
		if se := r.serverReason(); se != nil {
			return se
		}
	}
	return err
}

// writeFailure marks a registration write error.
type writeFailure struct{ err error }

func (e *writeFailure) Error() string { return "ircconn: registration: write: " + e.err.Error() }
func (e *writeFailure) Unwrap() error { return e.err }

// serverReason reads what the server said before it hung up, briefly, and
// returns its ERROR (or 464/465) as a *ServerError, or nil.
func (r *registration) serverReason() *ServerError {
	d := time.Now().Add(2 * time.Second)
	if d.After(r.deadline) {
		d = r.deadline
	}
	r.c.nc.SetReadDeadline(d)
	for {
		line, err := r.c.lr.readLine(r.c.nc)
		if err != nil {
			return nil
		}
		r.c.logWire("in", line)
		msg, err := ParseLine(string(line))
		if err != nil {
			continue
		}
		switch msg.Command {
		case "ERROR", "464", "465":
			_, err := r.handle(msg)
			var se *ServerError
			if errors.As(err, &se) {
				return se
			}
		}
	}
}

func (r *registration) run() error {
	c, cfg := r.c, r.cfg
	r.nicks = newNickFallback(cfg.Nick, cfg.NickLen)
	c.nick = r.nicks.current
	if err := r.send("CAP", "LS", "302"); err != nil {
		return err
	}
	if cfg.Password != "" {
		if err := r.send("PASS", cfg.Password); err != nil {
			return err
		}
	}
	if err := r.send("NICK", c.nick); err != nil {
		return err
	}
	if err := r.send("USER", cfg.User, "0", "*", cfg.RealName); err != nil {
		return err
	}
	for {
		line, err := c.lr.readLine(c.nc)
		if err != nil {
			var ne net.Error
			switch {
			case errors.As(err, &ne) && ne.Timeout() && r.welcome:
				return r.finish() // welcomed, but no end of MOTD: good enough
			case errors.As(err, &ne) && ne.Timeout():
				return ErrRegistrationTimeout
			}
			return fmt.Errorf("ircconn: registration: read: %w", err)
		}
		c.logWire("in", line)
		msg, err := ParseLine(string(line))
		if err != nil {
			continue
		}
		done, err := r.handle(msg)
		if err != nil {
			return err
		}
		if done {
			return r.finish()
		}
	}
}

// finish publishes what registration learned to the Conn.
func (r *registration) finish() error {
	c := r.c
	// Shared with other connections to the same server, and detached
	// from the registration's lines (see internISupport).
	c.isupport.Store(internISupport(r.is))
	slices.Sort(r.enabled)
	caps := internCaps(slices.Compact(r.enabled))
	c.mu.Lock()
	c.caps = caps
	c.mu.Unlock()
	c.log.Debug().Str("nick", c.nick).Strs("caps", caps.names).Msg("IRC registration complete")
	return nil
}

func (r *registration) send(cmd string, params ...string) error {
	line, err := appendMessage(nil, &irc.Message{Command: cmd, Params: params}, "", MaxLineLen)
	if err != nil {
		return err
	}
	r.c.logWire("out", line)
	if _, err := r.c.nc.Write(line); err != nil {
		return &writeFailure{err}
	}
	return nil
}

// handle processes one message; done is true when registration is over.
func (r *registration) handle(msg *irc.Message) (done bool, err error) {
	c := r.c
	switch msg.Command {
	case "PING":
		return false, r.send("PONG", msg.Params...)
	case "CAP":
		return false, r.handleCap(msg)
	case "AUTHENTICATE":
		return false, r.handleAuthenticate(msg)
	case "900": // RPL_LOGGEDIN <nick> <nick!user@host> <account> :text
		c.account = strings.Clone(msg.Param(2))
		r.learnSource(msg.Param(1))
		return false, nil
	case "903", "907": // success; 907: already authenticated
		r.sasl = saslDone
		return false, r.end()
	case "902", "904", "905", "906":
		return false, r.saslFailed(msg.Command, msg.Trailing())
	case "908": // RPL_SASLMECHS: a 904 follows
		return false, nil
	case "433", "436", "437":
		if r.welcome {
			break
		}
		return false, r.retryNick(r.nicks.inUse())
	case "432":
		if r.welcome {
			break
		}
		return false, r.retryNick(r.nicks.erroneous())
	case "464":
		return false, &ServerError{Kind: KindBadPassword, Command: "464", Reason: msg.Trailing()}
	case "465":
		return false, &ServerError{Kind: KindBanned, Command: "465", Reason: msg.Trailing()}
	case "ERROR":
		reason := msg.Trailing()
		kind := ClassifyClose(reason)
		// InspIRCd checks PASS as part of choosing a connect class and, on
		// a mismatch, says only "Access denied by configuration", no 464.
		if kind == KindServerClosed && r.cfg.Password != "" && strings.Contains(strings.ToLower(reason), "access denied") {
			kind = KindBadPassword
		}
		return false, &ServerError{Kind: kind, Command: "ERROR", Reason: reason}
	case "001":
		r.welcome = true
		if r.cfg.SASL.Mechanism != "" && r.sasl == saslNone {
			// Welcomed without SASL ever starting: the server knows no
			// CAP (it answered CAP LS with 421 or 451, or not at all),
			// and so no SASL. A login that connects only with SASL must
			// not stay on unauthenticated; CAP END would be one more
			// unknown command.
			r.capEnd = true
			if err := r.saslEnded(KindSASLNoCap, "001", "server does not support CAP, so no SASL"); err != nil {
				return false, err
			}
		}
		c.nick = strings.Clone(msg.Param(0))
		if f := strings.Fields(msg.Trailing()); len(f) > 0 {
			r.learnSource(f[len(f)-1])
		}
		// Past 001 the handshake is over: give the server a little
		// while for 005 and the MOTD, not the whole registration budget.
		if d := time.Now().Add(afterWelcomeWait); d.Before(r.deadline) {
			c.nc.SetReadDeadline(d)
		}
	case "005":
		if len(msg.Params) > 2 {
			r.is.Parse(msg.Params[1 : len(msg.Params)-1])
		}
	case "396": // RPL_VISIBLEHOST <nick> <host> :text
		if h := msg.Param(1); h != "" {
			c.host, r.hidden = strings.Clone(h), true
		}
	case "376", "422":
		if r.welcome {
			c.deliver(msg)
			return true, nil
		}
	}
	c.deliver(msg)
	return false, nil
}

// learnSource takes user and host from "nick!user@host" if it is ours;
// the host only while no 396 has set it (see hidden).
func (r *registration) learnSource(s string) {
	p := irc.ParsePrefix(s)
	if p.User != "" && p.Host != "" && r.is.Equal(p.Name, r.c.nick) {
		r.c.user = strings.Clone(p.User)
		if !r.hidden {
			r.c.host = strings.Clone(p.Host)
		}
	}
}

func (r *registration) retryNick(nick string) error {
	if nick == "" {
		return &ServerError{Kind: KindNickUnavailable, Command: "433", Reason: "no acceptable nick after " + fmt.Sprint(maxNickAttempts) + " tries"}
	}
	r.c.log.Debug().Str("nick", nick).Msg("IRC nick refused, trying another")
	r.c.nick = nick
	return r.send("NICK", nick)
}
