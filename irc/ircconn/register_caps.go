package ircconn

import (
	"encoding/base64"
	"slices"
	"strings"
	"unique"

	"gopkg.in/irc.v4"
)

// Capability negotiation (CAP LS/REQ/ACK/NAK/END) and SASL PLAIN during
// registration; register.go drives the handshake and calls in here.

// saslChunk is the AUTHENTICATE payload size limit.
const saslChunk = 400

// registration.sasl
const (
	saslNone = iota
	saslRunning
	saslDone
)

func (r *registration) handleCap(msg *irc.Message) error {
	sub := strings.ToUpper(msg.Param(1))
	switch sub {
	case "LS":
		if r.lsDone {
			return nil
		}
		// "CAP * LS * :a b" continues on the next line; "CAP * LS :a b"
		// is the last.
		more := len(msg.Params) >= 4 && msg.Params[2] == "*"
		if r.offered == nil {
			r.offered = map[string]string{}
		}
		for _, tok := range strings.Fields(msg.Trailing()) {
			name, value, _ := strings.Cut(tok, "=")
			r.offered[name] = value
		}
		if !more {
			r.lsDone = true
			return r.request()
		}
	case "ACK":
		for _, name := range strings.Fields(msg.Trailing()) {
			if strings.HasPrefix(name, "-") {
				r.enabled = slices.DeleteFunc(r.enabled, func(s string) bool { return s == name[1:] })
				continue
			}
			r.enabled = append(r.enabled, name)
		}
		return r.answered()
	case "NAK":
		// A REQ is all or nothing: one cap the server will not enable
		// refuses the whole line. Ask for the caps one by one so the rest
		// still get enabled, and never wait for an answer that will not
		// come.
		names := strings.Fields(msg.Trailing())
		if len(names) > 1 {
			for _, name := range names {
				if err := r.send("CAP", "REQ", name); err != nil {
					return err
				}
				r.pending++
			}
		}
		return r.answered()
	case "DEL":
		for _, name := range strings.Fields(msg.Trailing()) {
			r.enabled = slices.DeleteFunc(r.enabled, func(s string) bool { return s == name })
		}
	}
	return nil
}

// request sends CAP REQ for the wanted caps the server offered, in the
// order wanted, in as many lines as the 512-byte limit needs.
func (r *registration) request() error {
	var want []string
	for _, name := range r.cfg.Caps {
		if _, ok := r.offered[name]; ok && name != "sasl" {
			want = append(want, name)
		}
	}
	if r.cfg.SASL.Mechanism != "" {
		if _, ok := r.offered["sasl"]; ok {
			want = append(want, "sasl")
		}
	}
	var line []string
	size := 0
	for i, name := range want {
		line = append(line, name)
		size += len(name) + 1
		if i == len(want)-1 || size+len(want[i+1]) > MaxLineLen-len("CAP REQ :\r\n")-1 {
			if err := r.send("CAP", "REQ", strings.Join(line, " ")); err != nil {
				return err
			}
			r.pending++
			line, size = nil, 0
		}
	}
	if r.pending == 0 {
		return r.afterCaps()
	}
	return nil
}

// answered counts one ACK or NAK; when all are in, go on.
func (r *registration) answered() error {
	if r.pending > 0 {
		r.pending--
	}
	if r.pending == 0 && r.lsDone {
		return r.afterCaps()
	}
	return nil
}

// afterCaps starts SASL if configured and enabled, else ends CAP.
func (r *registration) afterCaps() error {
	mech := r.cfg.SASL.Mechanism
	if mech == "" || r.sasl != saslNone {
		return r.end()
	}
	if !slices.Contains(r.enabled, "sasl") {
		return r.saslUnavailable("server does not offer SASL")
	}
	if mechs := r.offered["sasl"]; mechs != "" && !slices.Contains(strings.Split(mechs, ","), mech) {
		return r.saslUnavailable("server offers SASL " + mechs + ", not " + mech)
	}
	r.sasl = saslRunning
	return r.send("AUTHENTICATE", mech)
}

func (r *registration) handleAuthenticate(msg *irc.Message) error {
	if r.sasl != saslRunning {
		return nil
	}
	if msg.Param(0) != "+" {
		// PLAIN and EXTERNAL take no challenge; abort rather than guess.
		return r.send("AUTHENTICATE", "*")
	}
	var payload string
	if r.cfg.SASL.Mechanism == "PLAIN" {
		s := r.cfg.SASL
		payload = base64.StdEncoding.EncodeToString([]byte(s.Username + "\x00" + s.Username + "\x00" + s.Password))
	}
	for _, chunk := range saslChunks(payload) {
		if err := r.send("AUTHENTICATE", chunk); err != nil {
			return err
		}
	}
	return nil
}

// saslChunks cuts an AUTHENTICATE payload into 400-byte pieces; an empty
// last piece ("+") tells the server the payload ended on a chunk boundary.
func saslChunks(payload string) []string {
	var out []string
	for len(payload) >= saslChunk {
		out = append(out, payload[:saslChunk])
		payload = payload[saslChunk:]
	}
	if payload == "" {
		return append(out, "+")
	}
	return append(out, payload)
}

// saslFailed ends SASL refused by the server (902, 904...).
func (r *registration) saslFailed(code, reason string) error {
	return r.saslEnded(KindSASL, code, reason)
}

// saslUnavailable ends SASL the server does not offer (now).
func (r *registration) saslUnavailable(reason string) error {
	return r.saslEnded(KindSASLUnavailable, "CAP", reason)
}

// saslEnded fails registration with kind if SASL is required, else goes
// on without it.
func (r *registration) saslEnded(kind Kind, code, reason string) error {
	r.sasl = saslDone
	if r.cfg.SASL.Required {
		_ = r.send("QUIT", "SASL authentication failed")
		return &ServerError{Kind: kind, Command: code, Reason: reason}
	}
	r.c.log.Warn().Str("code", code).Str("reason", reason).Msg("IRC SASL failed; continuing without authentication")
	return r.end()
}

// end sends CAP END once.
func (r *registration) end() error {
	if r.capEnd {
		return nil
	}
	r.capEnd = true
	return r.send("CAP", "END")
}

// capSet is a sorted list of enabled capabilities, shared by every
// connection that has the same ones (internCaps) and never changed.
type capSet struct{ names []string }

// list is the names; nil for a nil set (before registration).
func (s *capSet) list() []string {
	if s == nil {
		return nil
	}
	return s.names
}

// capCache lets connections with the same capabilities share one
// capSet instead of each keeping its own slice of the same sixteen names
// (256 bytes).
var capCache weakCache[capSet]

// internCaps returns the shared capSet of names (sorted, no duplicates).
// The names may be substrings of a CAP line: the shared set holds
// canonical copies, so that the line can go.
func internCaps(names []string) *capSet {
	key := strings.Join(names, " ") // capability names hold no spaces
	return capCache.intern(key, func(*capSet) bool { return true }, func() *capSet {
		shared := &capSet{names: make([]string, len(names))}
		for i, n := range names {
			shared.names[i] = unique.Make(n).Value()
		}
		return shared
	})
}
