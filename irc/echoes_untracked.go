package irc

import (
	"time"

	"gopkg.in/irc.v4"

	"github.com/ferrybridge/ferry/irc/ircconn"
)

// Lines no send waits for (a reaction's TAGMSG, a deletion's REDACT, a
// CTCP reply, a line of `irc raw`) are answered in turn with the others
// too: without labeled-response, the refusal of a reaction is a 404 for
// the channel, like a message's. Unnoted, it answered the oldest waiting
// message there, which then kept a Ferry-made ID although the server
// echoed it (and a later message with its words could take its msgid).
// So such a line is noted among the target's lines, to take its own
// answer: its echo (a REDACT's names its msgid, as the line did), a
// refusal numeric, or a FAIL naming it (redactions.go).

// unlabeledEchoes reports whether sends on conn wait for their first
// line's echo by its text (echoes.go).
func (cl *Client) unlabeledEchoes(conn *ircconn.Conn) bool {
	return conn.HasCap("echo-message") && conn.HasCap("message-tags") && !conn.HasCap("labeled-response") && conn == cl.currentConn()
}

// sendNoted queues msg, a line no send waits for, noting it among its
// target's lines when it is a chat line (or a REDACT) whose answer comes
// in turn.
func (cl *Client) sendNoted(conn *ircconn.Conn, msg *irc.Message) error {
	switch msg.Command {
	case "PRIVMSG", "NOTICE", "TAGMSG", "REDACT":
	default:
		return conn.Send(msg)
	}
	if len(msg.Params) < 1 || !cl.unlabeledEchoes(conn) {
		return conn.Send(msg)
	}
	text := ""
	if len(msg.Params) > 1 {
		text = msg.Params[1]
	}
	cl.echoes.order.Lock()
	defer cl.echoes.order.Unlock()
	ew := cl.echoes.note(conn, msg.Command, cl.fold(msg.Params[0]), text)
	if ew == nil {
		return conn.Send(msg)
	}
	err := conn.SendTracked(msg, func(at time.Time, err error) {
		if err != nil {
			cl.echoes.remove(ew) // never written: no answer will come
			return
		}
		cl.echoes.writtenAt(ew, at)
	})
	if err != nil {
		cl.echoes.remove(ew)
	}
	return err
}

// note registers a line of command with text to target (casefolded),
// queued on conn, that no send waits for; nil when too many lines wait
// already. It is kept until its answer comes, or endedKeep after it was
// written (writtenAt): flood control may hold it longer in the queue.
func (w *echoWaits) note(conn *ircconn.Conn, command, target, text string) *echoWait {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.forgetOthersLocked(conn)
	w.pruneLocked(time.Now())
	if len(w.waits) >= maxEchoWaits {
		return nil
	}
	// told: nobody reads its echo.
	ew := &echoWait{conn: conn, command: command, target: target, lines: []string{text}, echo: make(chan *irc.Message, 1), told: true}
	w.waits = append(w.waits, ew)
	return ew
}

// writtenAt notes when a line noted by note was written: nobody ends its
// wait, so it is forgotten endedKeep after that if no answer came.
func (w *echoWaits) writtenAt(ew *echoWait, at time.Time) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if ew.ended.IsZero() {
		ew.ended = at
	}
}
