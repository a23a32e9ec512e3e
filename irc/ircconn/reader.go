package ircconn

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"gopkg.in/irc.v4"
)

const (
	// readBufSize is the read buffer: one ordinary line. It grows for
	// tag-heavy lines and shrinks back once they are consumed, because a
	// thousand idle connections each holding 8 KiB is what this package
	// exists to avoid; over plain TCP it is given back while the
	// connection waits for data (lineReader.fill).
	readBufSize = 512
	// maxInLine is the longest incoming line kept: 8191 bytes of server
	// tags plus a line as long as any LINELEN we honour. Longer lines are
	// dropped whole.
	maxInLine = 8191 + lineLenCap
	// maxBatchMessages bounds one labeled reply's collected messages.
	maxBatchMessages = 1000
)

// keepalivePing is the line sent after IdleTimeout of silence. Any
// incoming line proves the link alive, so the token need not be unique.
var keepalivePing = []byte("PING ferry-keepalive\r\n")

// lineReader reads CRLF- or LF-terminated lines into a small reusable
// buffer. Unlike bufio.Reader.ReadString, it keeps a partial line across a
// read-deadline timeout, which the keepalive relies on.
type lineReader struct {
	// rc, when set (plain TCP), lets fill wait for data without holding
	// a buffer: an idle connection then keeps no read buffer at all.
	rc         syscall.RawConn
	buf        []byte
	start, end int
	skipping   bool // inside an overlong line, dropping up to its LF
	// lastRead is when the last Read returned, as monotonic nanoseconds
	// since clockBase: the time the line being returned came off the
	// socket. Atomic because LineReadAt may be called from anywhere.
	lastRead atomic.Int64
}

// readBufs recycles the idle-size read buffers that connections waiting
// for data give back (see fill).
var readBufs = sync.Pool{New: func() any { return new([readBufSize]byte) }}

// clockBase turns lastRead back into a time.Time that keeps the monotonic
// clock reading (Add preserves it), so latencies measured from it are
// immune to wall clock steps.
var clockBase = time.Now()

// LineReadAt is when the line being handled was read off the socket
// (the Read that completed it returned); zero before the first read.
// Inside the Handler it belongs to the message passed; lines that arrived
// in one read share its time.
func (c *Conn) LineReadAt() time.Time {
	d := c.lr.lastRead.Load()
	if d == 0 {
		return time.Time{}
	}
	return clockBase.Add(time.Duration(d))
}

// readLine returns the next line without its line ending; the slice is
// valid until the next call.
func (lr *lineReader) readLine(r io.Reader) ([]byte, error) {
	for {
		if line, ok := lr.next(); ok {
			return line, nil
		}
		if err := lr.fill(r); err != nil {
			return nil, err
		}
	}
}

// next returns the next complete line already buffered, without its line
// ending, or false; the slice is valid until the next fill.
func (lr *lineReader) next() ([]byte, bool) {
	for {
		i := bytes.IndexByte(lr.buf[lr.start:lr.end], '\n')
		if i < 0 {
			return nil, false
		}
		line := lr.buf[lr.start : lr.start+i]
		lr.start += i + 1
		if lr.skipping {
			lr.skipping = false
			continue
		}
		line = bytes.TrimRight(line, "\r")
		if len(line) == 0 {
			continue
		}
		return line, true
	}
}

// hasLine reports whether next would return a line (or skip the rest of
// an overlong one) without reading.
func (lr *lineReader) hasLine() bool {
	return bytes.IndexByte(lr.buf[lr.start:lr.end], '\n') >= 0
}

// fill reads once from r (the connection) into the buffer: whatever it
// has, at least one byte. Lines returned by next before are no longer
// valid.
func (lr *lineReader) fill(r io.Reader) error {
	switch {
	case lr.start == lr.end:
		lr.start, lr.end = 0, 0
		if lr.rc != nil {
			// Nothing buffered: give the buffer back while waiting, which
			// for an idle connection is nearly always.
			lr.release()
			if err := lr.waitReadable(); err != nil {
				return err
			}
		}
		if len(lr.buf) != readBufSize {
			lr.release()
			lr.buf = readBufs.Get().(*[readBufSize]byte)[:]
		}
	case lr.start > 0:
		lr.end = copy(lr.buf, lr.buf[lr.start:lr.end])
		lr.start = 0
	}
	if lr.end == len(lr.buf) {
		if len(lr.buf) >= maxInLine {
			lr.skipping, lr.end = true, 0
		} else {
			nb := make([]byte, min(2*len(lr.buf), maxInLine))
			copy(nb, lr.buf[:lr.end])
			lr.release()
			lr.buf = nb
		}
	}
	n, err := r.Read(lr.buf[lr.end:])
	if n > 0 {
		lr.lastRead.Store(int64(max(time.Since(clockBase), 1)))
	}
	lr.end += n
	return err
}

// release drops the buffer, recycling it if it has the idle size; only
// when nothing in it is needed any more.
func (lr *lineReader) release() {
	if len(lr.buf) == readBufSize {
		readBufs.Put((*[readBufSize]byte)(lr.buf))
	}
	lr.buf = nil
}

// waitReadable blocks until the socket has data, EOF or an error (which
// the Read after it then reports as usual), honouring the read deadline,
// without taking any of it (peekReady).
func (lr *lineReader) waitReadable() error {
	return lr.rc.Read(peekReady)
}

// readLoop is the reader goroutine: it waits for lines with the read
// deadline that keeps the link alive, and hands what it read to
// afterRead. It lives as long as the connection, parked in a read nearly
// all that time, so it runs nothing else: the handler's call chain (the
// caller's bridging code, logging, JSON) needs several KiB of stack, and a
// goroutine parked in the poller keeps any stack it has grown to (the
// runtime shrinks a stack only while less than a quarter of it is in
// use). afterRead gets a goroutine of its own for each batch of lines,
// whose stack goes when it ends, and an idle connection keeps only this
// one at its starting size.
func (c *Conn) readLoop() {
	defer c.exit()
	for !c.readEnded {
		// Registration stops reading at the end of the MOTD, so lines
		// that came in the same read (a bouncer's JOIN burst, a PM) are
		// already buffered: hand them over now, not after the next data,
		// which on a quiet connection is the keepalive.
		var err error
		if !c.lr.hasLine() {
			c.setReadDeadline()
			err = c.lr.fill(c.nc)
			if err == nil && !c.lr.hasLine() {
				continue // part of a line: read on
			}
		}
		// The reader waits, so lines are handled in order, never
		// concurrently, and nothing more is read while the handler runs.
		c.handling.Add(1)
		go c.afterRead(err)
		c.handling.Wait()
	}
}

// setReadDeadline bounds the next read: by the end of a QUIT's wait for
// the server to hang up, or by the idle time after which a keepalive PING
// goes out (unless one is out already, whose own deadline stands).
func (c *Conn) setReadDeadline() {
	switch qa := c.quitAt.Load(); {
	case qa != 0:
		c.nc.SetReadDeadline(time.Unix(0, qa))
	case !c.pinged:
		c.nc.SetReadDeadline(time.Now().Add(c.set.Value().idle))
	}
}

// afterRead handles the lines buffered (by fill, or left by registration),
// or fill's error, for readLoop.
func (c *Conn) afterRead(err error) {
	defer c.handling.Done()
	if err != nil {
		c.readFailed(err)
		return
	}
	c.pinged = false
	for {
		line, ok := c.lr.next()
		if !ok {
			return
		}
		c.logWire("in", line)
		msg, err := ParseLine(string(line))
		if err != nil {
			continue
		}
		c.incoming(msg)
	}
}

// readFailed acts on a read error: a keepalive PING after the first
// timeout, otherwise the end of the connection (readEnded).
func (c *Conn) readFailed(err error) {
	var ne net.Error
	isTimeout := errors.As(err, &ne) && ne.Timeout()
	switch {
	case c.quitAt.Load() != 0 || c.isQuitting():
		c.fail(ErrClosed)
	case isTimeout && !c.pinged:
		// Silence for IdleTimeout: ask. The writer sends it ahead of
		// queued chat lines.
		c.pinged = true
		c.nc.SetReadDeadline(time.Now().Add(c.set.Value().pingTimeout))
		c.wmu.Lock()
		c.q.pushUrgent(keepalivePing, false)
		c.wmu.Unlock()
		c.signal()
		return
	case isTimeout:
		c.fail(ErrPingTimeout)
	default:
		c.fail(c.readError(err))
	}
	c.readEnded = true
}

func (c *Conn) isQuitting() bool {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	return c.quitting
}

// readError turns a read failure into the connection's cause: the ERROR
// line that preceded it if there was one.
func (c *Conn) readError(err error) error {
	c.mu.Lock()
	se := c.srvErr
	c.mu.Unlock()
	if se != nil {
		return se
	}
	if errors.Is(err, io.EOF) {
		return fmt.Errorf("ircconn: server closed the connection: %w", err)
	}
	return fmt.Errorf("ircconn: read: %w", err)
}

// incoming updates the Conn's own state from one message, routes labeled
// replies and passes the message on.
func (c *Conn) incoming(msg *irc.Message) {
	switch msg.Command {
	case "PING":
		if line, err := appendMessage(nil, &irc.Message{Command: "PONG", Params: msg.Params}, "", c.ISupport().MaxLine()); err == nil {
			c.wmu.Lock()
			c.q.pushUrgent(line, false)
			c.wmu.Unlock()
			c.signal()
		}
	case "ERROR":
		reason := msg.Trailing()
		c.mu.Lock()
		c.srvErr = &ServerError{Kind: ClassifyClose(reason), Command: "ERROR", Reason: reason}
		c.mu.Unlock()
	case "NICK":
		// A labeled NICK is the answer to our own NICK command, whatever
		// its source says (InspIRCd 3 puts the new nick there).
		if c.isSelf(msg.Prefix) || c.isLabeledReply(msg) {
			c.mu.Lock()
			c.nick = strings.Clone(msg.Param(0))
			c.mu.Unlock()
		}
	case "CHGHOST": // :nick!old@old CHGHOST newuser newhost
		if c.isSelf(msg.Prefix) && len(msg.Params) >= 2 {
			c.mu.Lock()
			c.user, c.host = strings.Clone(msg.Params[0]), strings.Clone(msg.Params[1])
			c.mu.Unlock()
		}
	case "396": // RPL_VISIBLEHOST <nick> <host> :is now your displayed host
		c.mu.Lock()
		c.host = strings.Clone(msg.Param(1))
		c.mu.Unlock()
	case "900":
		c.mu.Lock()
		c.account = strings.Clone(msg.Param(2))
		c.mu.Unlock()
	case "901": // RPL_LOGGEDOUT
		c.mu.Lock()
		c.account = ""
		c.mu.Unlock()
	case "005":
		if len(msg.Params) > 2 {
			old := c.ISupport()
			is := old.Clone()
			is.Parse(msg.Params[1 : len(msg.Params)-1])
			c.isupport.Store(is)
			if is.CaseMapping != old.CaseMapping {
				c.wmu.Lock()
				c.q.refold(is)
				c.wmu.Unlock()
			}
		}
	case "CAP":
		c.capUpdate(msg)
	case "JOIN", "PRIVMSG", "NOTICE":
		// Our own JOIN or echoed message shows user@host as others see
		// it, which is what SplitText needs.
		if p := msg.Prefix; p != nil && p.User != "" && p.Host != "" && c.isSelf(p) {
			c.mu.Lock()
			if c.user != p.User || c.host != p.Host {
				c.user, c.host = strings.Clone(p.User), strings.Clone(p.Host)
			}
			c.mu.Unlock()
		}
	}
	c.routeLabeled(msg)
	c.deliver(msg)
}

func (c *Conn) isSelf(p *irc.Prefix) bool {
	if p == nil || p.Name == "" {
		return false
	}
	return c.ISupport().Equal(p.Name, c.Nick())
}

// deliver calls the handler, marking that it runs so that a Close from it
// does not wait for this very goroutine.
func (c *Conn) deliver(msg *irc.Message) {
	if c.handler == nil {
		return
	}
	c.inHandler.Store(true)
	defer c.inHandler.Store(false)
	c.handler(msg)
}

// capUpdate follows CAP ACK/NEW/DEL after registration; on NEW it asks for
// newly offered wanted caps (cap-notify).
func (c *Conn) capUpdate(msg *irc.Message) {
	names := strings.Fields(msg.Trailing())
	c.mu.Lock()
	var req []string
	// The set is shared (internCaps): changes make a new one.
	caps := c.caps.list()
	switch strings.ToUpper(msg.Param(1)) {
	case "ACK":
		caps = slices.Clone(caps)
		for _, n := range names {
			if strings.HasPrefix(n, "-") {
				caps = slices.DeleteFunc(caps, func(s string) bool { return s == n[1:] })
			} else if _, ok := slices.BinarySearch(caps, n); !ok {
				caps = append(caps, n)
				slices.Sort(caps)
			}
		}
		c.caps = internCaps(caps)
	case "DEL":
		caps = slices.Clone(caps)
		for _, n := range names {
			caps = slices.DeleteFunc(caps, func(s string) bool { return s == n })
		}
		c.caps = internCaps(caps)
	case "NEW":
		for _, tok := range names {
			n, _, _ := strings.Cut(tok, "=")
			_, have := slices.BinarySearch(caps, n)
			if !have && n != "sasl" && slices.Contains(strings.Fields(c.set.Value().wantCaps), n) {
				req = append(req, n)
			}
		}
	}
	c.mu.Unlock()
	if len(req) > 0 {
		if err := c.Send(&irc.Message{Command: "CAP", Params: []string{"REQ", strings.Join(req, " ")}}); err != nil {
			c.log.Debug().Err(err).Msg("IRC CAP REQ after CAP NEW not sent")
		}
	}
}

// isLabeledReply reports whether msg answers one of our labeled commands:
// it carries a label, or sits in a labeled-response batch.
func (c *Conn) isLabeledReply(msg *irc.Message) bool {
	if msg.Tags["label"] != "" {
		return true
	}
	ref := msg.Tags["batch"]
	return ref != "" && c.batches[ref] != nil
}

// labelBatch collects the messages of one labeled-response batch.
type labelBatch struct {
	label string
	ref   string // the outermost batch's reference
	refs  []string
	msgs  []*irc.Message
}

// routeLabeled feeds labeled replies to SendLabeled's waiters: a message
// with a label tag is a whole reply; a BATCH opened with a label collects
// everything tagged with its reference (nested batches included) until it
// closes.
func (c *Conn) routeLabeled(msg *irc.Message) {
	if len(msg.Tags) == 0 && len(c.batches) == 0 {
		return
	}
	if ref := msg.Tags["batch"]; ref != "" {
		if b := c.batches[ref]; b != nil {
			if msg.Command == "BATCH" && strings.HasPrefix(msg.Param(0), "+") {
				inner := msg.Param(0)[1:]
				b.refs = append(b.refs, inner)
				c.batches[inner] = b
			}
			if msg.Command != "BATCH" && len(b.msgs) < maxBatchMessages {
				b.msgs = append(b.msgs, msg)
			}
			return
		}
	}
	if msg.Command == "BATCH" && strings.HasPrefix(msg.Param(0), "-") {
		ref := msg.Param(0)[1:]
		b := c.batches[ref]
		if b == nil || b.ref != ref {
			return
		}
		for _, r := range b.refs {
			delete(c.batches, r)
		}
		if len(c.batches) == 0 {
			c.batches = nil
		}
		c.replyLabel(b.label, LabeledReply{Messages: b.msgs})
		return
	}
	label := msg.Tags["label"]
	if label == "" {
		return
	}
	if msg.Command == "BATCH" && strings.HasPrefix(msg.Param(0), "+") {
		ref := msg.Param(0)[1:]
		c.mu.Lock()
		_, waited := c.labels[label]
		c.mu.Unlock()
		if !waited {
			return // nobody waits (any more): do not collect
		}
		if c.batches == nil {
			c.batches = map[string]*labelBatch{}
		}
		c.batches[ref] = &labelBatch{label: label, ref: ref, refs: []string{ref}}
		return
	}
	c.replyLabel(label, LabeledReply{Messages: []*irc.Message{msg}})
}

// replyLabel hands r to the waiter of label, if any. The channel has room
// for exactly one reply, so this never blocks the reader.
func (c *Conn) replyLabel(label string, r LabeledReply) {
	c.mu.Lock()
	ch := c.labels[label]
	delete(c.labels, label)
	if len(c.labels) == 0 {
		c.labels = nil
	}
	c.mu.Unlock()
	if ch != nil {
		ch <- r
	}
}

// resolveLabels fails the waiters of labeled lines that will never be sent.
func (c *Conn) resolveLabels(labels []string, err error) {
	for _, l := range labels {
		c.replyLabel(l, LabeledReply{Err: err})
	}
}
