package ircconn

import (
	"errors"
	"net"
	"strings"
)

// Sentinel errors. Errors returned by this package wrap them (test with
// errors.Is) or are *ServerError / *ValidationError values (errors.As).
var (
	// ErrClosed: the connection was closed (by Close, the server or an
	// error); Send and friends return it afterwards.
	ErrClosed = errors.New("ircconn: connection closed")
	// ErrQueueFull: the send queue is at its bound; nothing was queued.
	ErrQueueFull = errors.New("ircconn: send queue full")
	// ErrRegistrationTimeout: registration did not finish before the
	// deadline (Config.RegisterTimeout or the context's).
	ErrRegistrationTimeout = errors.New("ircconn: registration timed out")
	// ErrPingTimeout: the server stayed silent through a keepalive PING.
	ErrPingTimeout = errors.New("ircconn: ping timeout")
	// ErrNoLabeledResponse: SendLabeled needs the labeled-response cap.
	ErrNoLabeledResponse = errors.New("ircconn: labeled-response not enabled")
	// ErrPurged: a labeled line was dropped from the queue by PurgeTarget
	// before it was sent.
	ErrPurged = errors.New("ircconn: queued line purged")
	// ErrTooManyPending: too many labeled requests await replies.
	ErrTooManyPending = errors.New("ircconn: too many labeled requests pending")
)

// Kind classifies why a connection failed or ended, so the caller can pick
// a backoff: a throttled or banned client that reconnects at once only digs
// itself deeper, while a network error deserves a quick retry.
type Kind int

const (
	KindUnknown            Kind = iota
	KindNetwork                 // dial or I/O error, EOF
	KindTimeout                 // registration deadline or ping timeout
	KindBadPassword             // 464: wrong server password
	KindBanned                  // 465, or ERROR naming a K-/G-/Z-/D-line or ban
	KindThrottled               // ERROR: reconnecting too fast
	KindTooManyConnections      // ERROR: per-host/IP connection limit
	KindFlooded                 // ERROR: excess flood, RecvQ/SendQ exceeded
	KindKilled                  // ERROR after an operator KILL
	KindSASL                    // SASL failed and Config.SASL.Required was set
	KindNickUnavailable         // every nick fallback was refused
	KindServerClosed            // any other ERROR from the server
	KindClosed                  // closed by Close
	// KindSASLUnavailable: the server offered no SASL, or not the
	// mechanism, and Config.SASL.Required was set. Unlike KindSASL it
	// says nothing of the credentials: a network's services split off
	// for a while take SASL away with them.
	KindSASLUnavailable
	// KindSASLNoCap: the server knows no CAP at all (it welcomed a
	// client that asked for capabilities), so it can never offer SASL,
	// and Config.SASL.Required was set. Unlike KindSASLUnavailable no
	// wait mends it: only a change of configuration does.
	KindSASLNoCap
)

var kindNames = [...]string{"unknown", "network", "timeout", "bad-password", "banned",
	"throttled", "too-many-connections", "flooded", "killed", "sasl", "nick-unavailable",
	"server-closed", "closed", "sasl-unavailable", "sasl-no-cap"}

func (k Kind) String() string {
	if k >= 0 && int(k) < len(kindNames) {
		return kindNames[k]
	}
	return "kind(?)"
}

// ServerError is the server refusing or ending the connection: a numeric
// (464, 465, 90x, 433...) or an ERROR line.
type ServerError struct {
	Kind    Kind
	Command string // "ERROR" or the numeric, e.g. "464"
	Reason  string // the server's text
}

func (e *ServerError) Error() string {
	return "ircconn: server refused (" + e.Kind.String() + ", " + e.Command + "): " + e.Reason
}

// KindOf classifies any error returned by Dial or Conn.Err.
func KindOf(err error) Kind {
	if err == nil {
		return KindUnknown
	}
	var se *ServerError
	switch {
	case errors.As(err, &se):
		return se.Kind
	case errors.Is(err, ErrClosed):
		return KindClosed
	case errors.Is(err, ErrRegistrationTimeout), errors.Is(err, ErrPingTimeout):
		return KindTimeout
	}
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return KindTimeout
	}
	return KindNetwork
}

// closeReasons maps words servers put in ERROR lines to a Kind. Checked in
// order, case-insensitively. Throttling comes first because servers often
// enforce it with a short Z-line whose text says so (InspIRCd's connectban:
// "Z-lined: ... attempting to connect too many times ... Wait a while"), and
// waiting a while is the right answer there, not giving up. The phrases are
// those of InspIRCd, Solanum/Charybdis, UnrealIRCd, Hybrid and Ergo.
var closeReasons = []struct {
	kind    Kind
	phrases []string
}{
	{KindThrottled, []string{"throttl", "too fast", "connect too many times", "connect flood",
		"too many connection attempts", "connection rate"}},
	{KindBanned, []string{"k-lined", "g-lined", "z-lined", "d-lined", "k-line", "g-line", "z-line",
		"d-line", "kline", "gline", "zline", "dline", "banned", "akill", "autokill"}},
	{KindTooManyConnections, []string{"too many connections", "too many host connections",
		"too many user connections", "no more connections", "too many clones", "clone limit",
		"maximum connections", "max connections", "session limit"}},
	{KindFlooded, []string{"excess flood", "recvq exceeded", "sendq exceeded", "max sendq"}},
	{KindKilled, []string{"killed"}},
}

// ClassifyClose returns the Kind of an ERROR line's text, e.g.
// "Closing link: (u@h) [K-lined: spam]" -> KindBanned; KindServerClosed when
// nothing matches.
func ClassifyClose(reason string) Kind {
	lower := strings.ToLower(reason)
	for _, r := range closeReasons {
		for _, p := range r.phrases {
			if strings.Contains(lower, p) {
				return r.kind
			}
		}
	}
	return KindServerClosed
}
