package irc

import (
	"context"
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
// it says: the oldest waiting send of the same command and text to the
// same target takes it (the server echoes our lines in the order we sent
// them). A line whose formatting the channel stripped matches its echo
// without it (echoWait.echoes). A line the server refused, or changed
// otherwise, is never matched, and its send keeps its Ferry-made ID after
// echoTimeout; the portal's next message does not wait for that.

// maxEchoWaits bounds the sends waiting for an unlabeled echo; past it a
// send does not wait.
const maxEchoWaits = 64

type echoWaits struct {
	mu    sync.Mutex
	waits []*echoWait
}

type echoWait struct {
	command, target, text string // target casefolded
	plain                 string // text without formatting (ircfmt.StripCodes)
	echo                  chan *irc.Message
}

// echoes reports whether echoed can be the server's echo of ew's text:
// the same, or (on a channel that strips formatting, InspIRCd's +S,
// Solanum's +c) the same with some formatting taken out. A server takes
// codes out, never puts them in: a plain line refused earlier does not
// take the echo of a bold one sent after it.
func (ew *echoWait) echoes(echoed, plain string) bool {
	return echoed == ew.text || (len(echoed) < len(ew.text) && plain == ew.plain)
}

// add registers a send waiting for the echo of command text to target
// (casefolded); nil when too many wait already.
func (w *echoWaits) add(command, target, text string) *echoWait {
	w.mu.Lock()
	defer w.mu.Unlock()
	if len(w.waits) >= maxEchoWaits {
		return nil
	}
	ew := &echoWait{command: command, target: target, text: text, plain: ircfmt.StripCodes(text), echo: make(chan *irc.Message, 1)}
	w.waits = append(w.waits, ew)
	return ew
}

// remove forgets ew, answered or not.
func (w *echoWaits) remove(ew *echoWait) {
	w.mu.Lock()
	defer w.mu.Unlock()
	for i, x := range w.waits {
		if x == ew {
			w.waits = append(w.waits[:i], w.waits[i+1:]...)
			return
		}
	}
}

// resolve hands an echo of ours (command, casefolded target, text) to
// the oldest send waiting for it.
func (w *echoWaits) resolve(msg *irc.Message, target string) {
	if len(msg.Params) < 2 {
		return
	}
	echoed := msg.Params[1]
	plain := ircfmt.StripCodes(echoed)
	w.mu.Lock()
	defer w.mu.Unlock()
	for i, ew := range w.waits {
		if ew.command == msg.Command && ew.target == target && ew.echoes(echoed, plain) {
			w.waits = append(w.waits[:i], w.waits[i+1:]...)
			ew.echo <- msg // room for one, and only one is ever sent
			return
		}
	}
}

// awaitEcho waits up to echoTimeout, or until ctx ends or conn drops,
// for ew's echo; nil when none came.
func (w *echoWaits) awaitEcho(ctx context.Context, conn *ircconn.Conn, ew *echoWait) *irc.Message {
	timer := time.NewTimer(echoTimeout)
	defer timer.Stop()
	select {
	case m := <-ew.echo:
		return m
	case <-timer.C:
	case <-ctx.Done():
	case <-conn.Done():
	}
	w.remove(ew)
	select {
	case m := <-ew.echo: // answered just before it was removed
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
