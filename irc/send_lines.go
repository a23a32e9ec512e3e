package irc

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"gopkg.in/irc.v4"

	"github.com/ferrybridge/ferry/bridge/network"
	"github.com/ferrybridge/ferry/irc/ircconn"
)

// How a message from Matrix fares once its lines are handed to the
// connection: written, lost with the connection, echoed by the server, or
// refused by it.

// echoTimeout bounds the wait for the server's echo of a sent line (with
// echo-message and labeled-response), whose msgid becomes the message ID.
var echoTimeout = 10 * time.Second

// awaitLabeled waits up to echoTimeout, or until ctx ends, for the
// labeled reply on ch; ok is false when none came. On giving up it
// abandons the label: a line the server never answers would otherwise
// stay pending in the Conn, and enough of them make every later labeled
// send fail with ErrTooManyPending until a reconnect.
func awaitLabeled(ctx context.Context, conn *ircconn.Conn, ch <-chan ircconn.LabeledReply) (reply ircconn.LabeledReply, ok bool) {
	return awaitLabeledWithin(ctx, conn, ch, echoTimeout)
}

// awaitLabeledWithin is awaitLabeled with a wait of its own, d.
func awaitLabeledWithin(ctx context.Context, conn *ircconn.Conn, ch <-chan ircconn.LabeledReply, d time.Duration) (reply ircconn.LabeledReply, ok bool) {
	timer := time.NewTimer(d)
	defer timer.Stop()
	select {
	case reply = <-ch:
		return reply, true
	case <-timer.C:
	case <-ctx.Done():
	}
	conn.Abandon(ch)
	select {
	case reply = <-ch: // answered just before it was abandoned
		return reply, true
	default:
		return ircconn.LabeledReply{}, false
	}
}

// sendLines queues the pieces and returns the message's ID: the msgid of
// the first line's echo when the server confirms sends, else a fresh one.
// It returns once the last piece is written to the socket, not when it is
// queued: lines still waiting for flood control when the connection drops
// (or the channel is left) are never sent, and the sender must hear so.
// written, when set, hears when the first line was written (the metrics).
// placed, when set, hears once every line is queued and the first has been
// written: the connection writes a target's lines in order, so the next
// message may follow, and waiting for the write (not just the queue)
// keeps at most one message per chat in the flood-control queue, as when
// each Send waited for its echo.
func (cl *Client) sendLines(ctx context.Context, conn *ircconn.Conn, command, target string, tags irc.Tags, pieces []string, written func(time.Time), placed func()) (*network.SendResult, error) {
	track := newPieceTracker(len(pieces), written, placed)
	var unlabeled *echoWait
	cl.echoes.order.Lock()
	if cl.unlabeledEchoes(conn) {
		// Registered before the line is queued: its echo may come back
		// before queuePieces returns.
		unlabeled = cl.echoes.add(conn, command, cl.fold(target), pieces)
	}
	echo, err := cl.queuePieces(conn, command, target, tags, pieces, track)
	cl.echoes.order.Unlock()
	if err != nil {
		if unlabeled != nil {
			cl.echoes.remove(unlabeled)
		}
		return nil, err
	}
	track.step() // all queued
	if err = cl.awaitWritten(ctx, track); err != nil {
		if echo != nil {
			conn.Abandon(echo)
		}
		if unlabeled != nil {
			cl.echoes.remove(unlabeled)
		}
		return nil, err
	}
	result := &network.SendResult{Timestamp: time.Now()}
	if unlabeled != nil {
		idOfEcho(result, cl.echoes.awaitEcho(ctx, conn, unlabeled))
	}
	if echo != nil {
		if reply, ok := awaitLabeled(ctx, conn, echo); ok {
			if reply.Err != nil {
				// The connection ended (or the target was purged) before
				// the server confirmed the line: say so rather than
				// pretend it was delivered.
				return nil, &network.UserError{Message: "the connection to " + cl.netName + " dropped before the server confirmed the message; it was probably not sent", Err: reply.Err}
			}
			if echoed := echoOf(reply.Messages); echoed != nil {
				idOfEcho(result, echoed)
			} else if refused := refusalIn(reply.Messages); refused != nil {
				return nil, cl.refusedError(refused, target)
			}
		}
	}
	if result.ID == "" {
		result.ID = newFerryID()
	}
	return result, nil
}

// queuePieces queues one line per piece, every one tracked by track; the
// first carries tags and, when the server confirms sends (echo-message
// and labeled-response), a label whose reply channel it returns.
func (cl *Client) queuePieces(conn *ircconn.Conn, command, target string, tags irc.Tags, pieces []string, track *pieceTracker) (<-chan ircconn.LabeledReply, error) {
	done := track.lineDone
	var echo <-chan ircconn.LabeledReply
	for i, piece := range pieces {
		m := &irc.Message{Command: command, Params: []string{target, piece}}
		if i == 0 {
			m.Tags = tags
		}
		var err error
		if i == 0 && conn.HasCap("echo-message") && conn.HasCap("labeled-response") {
			echo, err = conn.SendLabeledTracked(m, done)
		} else {
			err = conn.SendTracked(m, done)
		}
		if err != nil {
			if i == 0 {
				return nil, &network.UserError{Message: "could not send to " + cl.netName, Err: err}
			}
			if echo != nil {
				conn.Abandon(echo) // nobody will wait for it
			}
			return nil, &network.UserError{Message: "only part of the message reached " + cl.netName, Err: err}
		}
	}
	return echo, nil
}

// awaitWritten waits until every piece of track's message is written or
// dropped. Pieces dropped (the connection ended, or the channel was left
// and its queue purged) fail the send with a UserError that counts them.
func (cl *Client) awaitWritten(ctx context.Context, track *pieceTracker) error {
	select {
	case <-track.settled:
	case <-ctx.Done():
		return fmt.Errorf("waiting for the message's lines to be written to %s: %w", cl.netName, ctx.Err())
	}
	unsent := track.total - track.nWritten.Load()
	if unsent == 0 {
		return nil
	}
	lost := track.lostErr()
	why := "the connection to " + cl.netName + " dropped first"
	if errors.Is(lost, ircconn.ErrPurged) {
		why = "the chat was left first"
	}
	if unsent == track.total {
		return &network.UserError{Message: "the message was not sent: " + why, Err: lost}
	}
	return &network.UserError{Message: fmt.Sprintf("%d of the message's %d lines were not sent: %s", unsent, track.total, why), Err: lost}
}

// pieceTracker follows one message's pieces through the connection's
// queue (its lineDone is their ircconn.LineDone). It reports the first
// write at once, for the metrics and so that the portal's next message
// may go (placed), and closes settled once every piece is written or
// dropped, which is when sendLines may say how the message fared.
type pieceTracker struct {
	total    int32
	written  func(time.Time)
	placed   func()
	steps    atomic.Int32 // before placed: all queued, first written
	nWritten atomic.Int32
	nSettled atomic.Int32
	settled  chan struct{}

	mu   sync.Mutex
	lost error // why the first dropped piece was dropped
}

func newPieceTracker(pieces int, written func(time.Time), placed func()) *pieceTracker {
	t := &pieceTracker{total: int32(pieces), written: written, placed: placed, settled: make(chan struct{})}
	t.steps.Store(2)
	return t
}

// step counts one of the two things placed waits for.
func (t *pieceTracker) step() {
	if t.steps.Add(-1) == 0 && t.placed != nil {
		t.placed()
	}
}

// lineDone is the ircconn.LineDone of every piece. A target's lines are
// written in order, so the first write is the first piece's.
func (t *pieceTracker) lineDone(at time.Time, err error) {
	if err != nil {
		t.mu.Lock()
		if t.lost == nil {
			t.lost = err
		}
		t.mu.Unlock()
	} else if t.nWritten.Add(1) == 1 {
		if t.written != nil {
			t.written(at)
		}
		t.step()
	}
	if t.nSettled.Add(1) == t.total {
		close(t.settled)
	}
}

func (t *pieceTracker) lostErr() error {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.lost
}

// echoOf is the echo of our line in a labeled reply: the PRIVMSG or
// NOTICE carrying the server's msgid; nil if there is none.
func echoOf(reply []*irc.Message) *irc.Message {
	for _, m := range reply {
		if m.Tags["msgid"] != "" && (m.Command == "PRIVMSG" || m.Command == "NOTICE") {
			return m
		}
	}
	return nil
}

// refusalIn is the server's refusal in a labeled reply to a chat line: an
// error numeric (4xx and 5xx: 404 cannot send to channel, 401 no such
// nick, 412...) or a FAIL standard reply; nil if the reply has none. It is
// only asked when the reply holds no echo: an echoed line was delivered,
// and calling it refused would make the user send it twice.
func refusalIn(reply []*irc.Message) *irc.Message {
	for _, m := range reply {
		if m.Command == "FAIL" || isErrorNumeric(m.Command) {
			return m
		}
	}
	return nil
}

// isErrorNumeric reports whether command is a numeric in the 400-599
// range, where servers put their ERR_ replies.
func isErrorNumeric(command string) bool {
	return len(command) == 3 && (command[0] == '4' || command[0] == '5') &&
		command[1] >= '0' && command[1] <= '9' && command[2] >= '0' && command[2] <= '9'
}

// errRefused is the cause of the UserError for a line the server refused.
var errRefused = errors.New("refused by the server")

// refusedError tells the Matrix sender, in the server's own words, that
// the server did not take the message to target (the core reports it in
// the room), as refusedSaying tells an unlabeled refusal.
func (cl *Client) refusedError(refusal *irc.Message, target string) error {
	return &network.UserError{
		Message: cl.refusedBy("the message to "+network.Literal(target), refusal.Trailing(), refusal.Command),
		Err:     fmt.Errorf("%w: %s %s", errRefused, refusal.Command, strings.Join(refusal.Params, " ")),
	}
}

func newFerryID() network.MessageID {
	var b [12]byte
	_, _ = rand.Read(b[:])
	return network.MessageID("f:" + hex.EncodeToString(b[:]))
}
