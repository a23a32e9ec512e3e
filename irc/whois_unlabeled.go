package irc

import (
	"context"
	"strconv"
	"strings"
	"time"

	"gopkg.in/irc.v4"

	"github.com/ferrybridge/ferry/irc/ircconn"
)

// WHOIS without labels. `irc whois` reads the server's answer as its
// labeled reply where the server has labeled-response. Solanum (Libera)
// and many others have none: there the answer is told apart by the nick
// every WHOIS numeric names after ours, and ends with 318
// RPL_ENDOFWHOIS. One such WHOIS runs at a time per login, so two never
// share one nick's answer.
//
// A WHOIS that timed out can still be answered later, while the next
// WHOIS of the same nick waits: its lines, and its 318, would be taken
// for the next one's answer, and end it early. So each WHOIS is sent
// after a PING of its own: the server answers a client's commands in
// order, so what comes before that PING's PONG answers earlier
// commands, and the WHOIS's answer begins after it.

// whoisNumerics are the replies to a WHOIS, with 401/402 for a nick or
// server there is none of; the nick asked about is their second
// parameter.
var whoisNumerics = map[string]bool{
	"276": true, "301": true, "307": true, "310": true, "311": true, "312": true, "313": true,
	"317": true, "318": true, "319": true, "320": true, "330": true, "335": true, "338": true,
	"378": true, "379": true, "401": true, "402": true, "671": true,
}

// maxWhoisLines bounds what one WHOIS answer collects.
const maxWhoisLines = 50

// whoisCollect gathers the answer to one unlabeled WHOIS; cl.lock
// guards it.
type whoisCollect struct {
	nick  string // casefolded
	msgs  []*irc.Message
	ended bool
	// noSuchNick: a 401 answered this WHOIS already; another is a PM's
	// refusal, for handleRefusal to tell (see collectWhois).
	noSuchNick bool
	// marker is the token of the PING sent before the WHOIS; started,
	// that its PONG came, so that the lines after it answer this WHOIS.
	marker  string
	started bool
	done    chan struct{}
}

// whoisUnlabeled sends WHOIS nick and gathers the answer until 318, up
// to whoisTimeout; ok is false when nothing came.
func (cl *Client) whoisUnlabeled(ctx context.Context, conn *ircconn.Conn, nick string) (reply ircconn.LabeledReply, ok bool) {
	cl.lock.Lock()
	if cl.whoisTurn == nil { // made on first use: most logins never WHOIS
		cl.whoisTurn = make(chan struct{}, 1)
	}
	turn := cl.whoisTurn
	cl.lock.Unlock()
	select {
	case turn <- struct{}{}:
		defer func() { <-turn }()
	case <-ctx.Done():
		return reply, false
	}
	cl.lock.Lock()
	cl.whoisSeq++
	w := &whoisCollect{nick: cl.fold(nick), marker: "ferry-whois-" + strconv.FormatUint(cl.whoisSeq, 10), done: make(chan struct{})}
	cl.whois = w
	cl.lock.Unlock()
	defer func() {
		cl.lock.Lock()
		if cl.whois == w {
			cl.whois = nil
		}
		cl.lock.Unlock()
	}()
	if err := conn.Send(&irc.Message{Command: "PING", Params: []string{w.marker}}); err != nil {
		return ircconn.LabeledReply{Err: err}, true
	}
	if err := conn.Send(&irc.Message{Command: "WHOIS", Params: []string{nick}}); err != nil {
		return ircconn.LabeledReply{Err: err}, true
	}
	timer := time.NewTimer(whoisTimeout.get())
	defer timer.Stop()
	select {
	case <-w.done:
	case <-timer.C:
	case <-ctx.Done():
	case <-conn.Done():
		return ircconn.LabeledReply{Err: conn.Err()}, true
	}
	cl.lock.Lock()
	defer cl.lock.Unlock()
	cl.whois = nil
	return ircconn.LabeledReply{Messages: w.msgs}, w.ended || len(w.msgs) > 0
}

// collectWhois takes msg into the unlabeled WHOIS waiting for it, and
// reports whether it did: a 401 for the nick asked about then answers
// the WHOIS, not a PM.
func (cl *Client) collectWhois(msg *irc.Message) bool {
	if msg.Command == "PONG" {
		cl.lock.Lock()
		defer cl.lock.Unlock()
		if w := cl.whois; w != nil && !w.started && len(msg.Params) > 0 && msg.Trailing() == w.marker {
			w.started = true
			return true
		}
		return false
	}
	if msg.Command == "263" && strings.EqualFold(msg.Param(1), "WHOIS") {
		return cl.whoisRefusedForNow(msg)
	}
	if !whoisNumerics[msg.Command] || len(msg.Params) < 2 {
		return false
	}
	nick := cl.fold(msg.Params[1])
	cl.lock.Lock()
	defer cl.lock.Unlock()
	w := cl.whois
	// Before the PONG, the lines answer an earlier WHOIS (one that
	// timed out): not this one's.
	if w == nil || !w.started || w.ended || w.nick != nick {
		return false
	}
	if msg.Command == "401" {
		// A WHOIS gets one 401; a second came from a PM to the nick sent
		// at about the same time, whose failure the PM room must hear of.
		if w.noSuchNick {
			return false
		}
		w.noSuchNick = true
	}
	if len(w.msgs) < maxWhoisLines {
		w.msgs = append(w.msgs, msg)
	}
	if msg.Command == "318" {
		w.ended = true
		close(w.done)
	}
	return true
}

// whoisRefusedForNow ends the WHOIS waiting for its answer with msg, a
// 263 RPL_TRYAGAIN for a WHOIS: a server that rate-limits WHOIS says
// only that (ircd-hybrid) or adds a 318 for the nick (Solanum), and the
// user is told at once rather than after whoisTimeout. Named by command,
// not nick, it is the waiting WHOIS's once that WHOIS's PONG came (one
// WHOIS runs at a time).
func (cl *Client) whoisRefusedForNow(msg *irc.Message) bool {
	cl.lock.Lock()
	defer cl.lock.Unlock()
	w := cl.whois
	if w == nil || !w.started || w.ended {
		return false
	}
	w.msgs = append(w.msgs, msg)
	w.ended = true
	close(w.done)
	return true
}
