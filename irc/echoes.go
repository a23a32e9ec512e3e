package irc

import (
	"context"
	"slices"
	"sync"
	"time"

	"gopkg.in/irc.v4"

	"github.com/ferrybridge/ferry/bridge/network"
	"github.com/ferrybridge/ferry/irc/ircconn"
	"github.com/ferrybridge/ferry/irc/ircfmt"
)

// Echoes without labels. With echo-message and labeled-response a sent
// line's echo comes back under its label, and its msgid becomes the
// Matrix message's ID (sendLines), which is what IRC people's reactions,
// replies and deletions name. A server with echo-message but without
// labeled-response echoes the line all the same, unlabeled: the message
// got a Ferry-made ID, and everything that named it by the server's msgid
// was lost. So, where the server also offers message-tags (no msgid
// reaches us without it), a send waits for its first line's echo by what
// it says. A line whose formatting the channel stripped matches its echo
// without it (echoWait.echoes).
//
// The server answers our lines in the order we sent them, each with its
// echo or a refusal (404 +m or a ban, 401 a nick gone, a FAIL naming the
// line), and a target's lines are written in the order they were queued.
// So each send notes all its lines, in order, and the answers are taken
// in turn: a refusal numeric for a target answers its oldest unanswered
// line, and an echo or a FAIL answers the oldest unanswered line it
// names, every older one of the target having had its answer without an
// echo (refused, or dropped in silence). A refused line thus never takes the echo of a later line with
// the same text, and a send whose first line was refused ends its wait
// at once. A line the server changed otherwise matches nothing, and its
// send keeps its Ferry-made ID after echoTimeout; the portal's next
// message does not wait for that.

// maxEchoWaits bounds the sends waiting for an unlabeled echo; past it a
// send does not wait.
const maxEchoWaits = 64

type echoWaits struct {
	mu    sync.Mutex
	waits []*echoWait // in the order the sends were queued
	// order is held from a line's noting to its queueing (sendLines,
	// sendNoted), so that the lines are noted in the order the
	// connection writes them: their answers are taken in that order.
	order sync.Mutex
}

type echoWait struct {
	// conn is the connection the lines were queued on: only its answers
	// are theirs (see forgetOthersLocked).
	conn            *ircconn.Conn
	command, target string   // target casefolded
	lines           []string // every line of the send, in order
	// answered counts the lines answered (echoed, refused, or passed over
	// by a later line's echo).
	answered int
	// echo gets the first line's echo, or nil once it is known that none
	// will come; it is sent to once (room for one).
	echo chan *irc.Message
	told bool
	// ended is when the send stopped waiting (awaitEcho); the wait stays
	// while its other lines' answers may still come, so that they are not
	// taken for a later send's, until endedKeep after.
	ended time.Time
}

// endedKeep is how long a send that stopped waiting still takes its
// other lines' answers.
const endedKeep = 10 * time.Second

// echoes reports whether echoed can be the server's echo of line i: the
// same, or (on a channel that strips formatting, InspIRCd's +S,
// Solanum's +c) the same with some formatting taken out. A server takes
// codes out, never puts them in: a plain line refused earlier does not
// take the echo of a bold one sent after it.
func (ew *echoWait) echoes(i int, echoed, plain string) bool {
	line := ew.lines[i]
	return echoed == line || (len(echoed) < len(line) && plain == ircfmt.StripCodes(line))
}

// answer notes that the next n lines of ew are answered, the first of
// them by echo when it is ew's first line (nil: not by an echo), and
// reports whether every line of ew is answered. Under w.mu.
func (ew *echoWait) answer(n int, echo *irc.Message) bool {
	if ew.answered == 0 && !ew.told {
		if n > 1 {
			echo = nil // the first line was passed over
		}
		ew.echo <- echo
		ew.told = true
	}
	ew.answered += n
	return ew.answered >= len(ew.lines)
}

// add registers a send waiting for the echo of its command lines to
// target (casefolded), queued on conn; nil when too many wait already.
func (w *echoWaits) add(conn *ircconn.Conn, command, target string, lines []string) *echoWait {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.forgetOthersLocked(conn)
	w.pruneLocked(time.Now())
	if len(w.waits) >= maxEchoWaits {
		return nil
	}
	ew := &echoWait{conn: conn, command: command, target: target, lines: lines, echo: make(chan *irc.Message, 1)}
	w.waits = append(w.waits, ew)
	return ew
}

// pruneLocked forgets the sends that stopped waiting over endedKeep ago.
func (w *echoWaits) pruneLocked(now time.Time) {
	w.waits = slices.DeleteFunc(w.waits, func(ew *echoWait) bool {
		return !ew.ended.IsZero() && now.Sub(ew.ended) > endedKeep
	})
}

// forgetOthersLocked forgets the lines queued on a connection other than
// conn, the one whose answers are now read. An older connection dropped:
// what it did not answer will never be answered, and a line there still
// waiting (the second of a send whose first was echoed, a reaction) took
// the new connection's refusal of the same target, leaving the line it
// refused to take a later line's echo. Under w.mu.
func (w *echoWaits) forgetOthersLocked(conn *ircconn.Conn) {
	w.waits = slices.DeleteFunc(w.waits, func(ew *echoWait) bool {
		if ew.conn == conn {
			return false
		}
		if !ew.told {
			ew.echo <- nil // its send, if still waiting, waits no more
			ew.told = true
		}
		return true
	})
}

// remove forgets ew, answered or not.
func (w *echoWaits) remove(ew *echoWait) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.removeLocked(ew)
}

func (w *echoWaits) removeLocked(ew *echoWait) {
	if i := slices.Index(w.waits, ew); i >= 0 {
		w.waits = slices.Delete(w.waits, i, i+1)
	}
}

// end notes that ew's send stopped waiting: its first line's answer is
// in, or will not be waited for. Its other lines' answers may still come.
func (w *echoWaits) end(ew *echoWait) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if ew.answered >= len(ew.lines) || !ew.told {
		w.removeLocked(ew) // nothing more to take, or given up on
		return
	}
	ew.ended = time.Now()
}

// resolve hands an echo of ours (command, casefolded target, text),
// read from conn, to the send whose line it is, and passes over the older
// lines to target, which had their answer without an echo.
func (w *echoWaits) resolve(conn *ircconn.Conn, msg *irc.Message, target string) {
	if len(msg.Params) < 1 {
		return
	}
	echoed := "" // a TAGMSG's (echoes_untracked.go); a REDACT's msgid
	if len(msg.Params) > 1 {
		echoed = msg.Params[1]
	} else if msg.Command != "TAGMSG" {
		return
	}
	plain := ircfmt.StripCodes(echoed)
	w.answerNamed(conn, target, msg, func(ew *echoWait, i int) bool {
		return ew.command == msg.Command && ew.echoes(i, echoed, plain)
	})
}

// failed notes a FAIL standard reply, read from conn, naming our line of
// command to target (casefolded) and its text (a REDACT's msgid; "" when
// the FAIL names none): like an echo, it answers the oldest such line,
// only not by an echo.
func (w *echoWaits) failed(conn *ircconn.Conn, command, target, text string) {
	w.answerNamed(conn, target, nil, func(ew *echoWait, i int) bool {
		return ew.command == command && (text == "" || ew.lines[i] == text)
	})
}

// answerNamed hands an answer that names its line (an echo, or a FAIL),
// read from conn, to the oldest unanswered line to target it matches,
// echo being the echo (nil: not one); the older lines to target had
// their answer already, without an echo, and are passed over.
func (w *echoWaits) answerNamed(conn *ircconn.Conn, target string, echo *irc.Message, matches func(ew *echoWait, i int) bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.forgetOthersLocked(conn)
	var older []*echoWait
	for _, ew := range w.waits {
		if ew.target != target {
			continue
		}
		for i := ew.answered; i < len(ew.lines); i++ {
			if !matches(ew, i) {
				continue
			}
			for _, o := range older {
				o.answer(len(o.lines)-o.answered, nil)
				w.removeLocked(o)
			}
			if ew.answer(i-ew.answered+1, echo) {
				w.removeLocked(ew)
			}
			return
		}
		older = append(older, ew)
	}
}

// refused notes the server's refusal, read from conn, of a line to
// target (casefolded): it answers the oldest unanswered line there, and a
// send whose first line that is stops waiting for an echo. It returns
// that line's command ("" when no line to target waited): a numeric that
// refuses more than lines (Ergo's 403 refuses a REDACT too) is told by
// what it refused.
func (w *echoWaits) refused(conn *ircconn.Conn, target string) (command string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.forgetOthersLocked(conn)
	for _, ew := range w.waits {
		if ew.target == target {
			if ew.answer(1, nil) {
				w.removeLocked(ew)
			}
			return ew.command
		}
	}
	return ""
}

// waiting reports whether a line to target (casefolded), queued on conn,
// awaits its answer.
func (w *echoWaits) waiting(conn *ircconn.Conn, target string) bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	return slices.ContainsFunc(w.waits, func(ew *echoWait) bool {
		return ew.conn == conn && ew.target == target && ew.answered < len(ew.lines)
	})
}

// awaitEcho waits up to echoTimeout, or until ctx ends or conn drops,
// for ew's echo; nil when none came.
func (w *echoWaits) awaitEcho(ctx context.Context, conn *ircconn.Conn, ew *echoWait) *irc.Message {
	timer := time.NewTimer(echoTimeout)
	defer timer.Stop()
	select {
	case m := <-ew.echo:
		w.end(ew)
		return m
	case <-timer.C:
	case <-ctx.Done():
	case <-conn.Done():
	}
	w.end(ew)
	select {
	case m := <-ew.echo: // answered just before it was given up on
		return m
	default:
		return nil
	}
}

// idOfEcho sets result's ID (and time) from an echo with a msgid.
func idOfEcho(result *network.SendResult, echoed *irc.Message) {
	if echoed == nil || echoed.Tags["msgid"] == "" {
		return
	}
	result.ID = network.MessageID("id:" + echoed.Tags["msgid"])
	if t, ok := ircconn.MessageTime(echoed); ok {
		result.Timestamp = t
	}
}
