package ircconn

import (
	"cmp"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"gopkg.in/irc.v4"
)

// maxPendingLabels bounds SendLabeled requests awaiting replies.
const maxPendingLabels = 128

// LabeledReply is the server's answer to one SendLabeled line: the echoed
// PRIVMSG (with its msgid and time tags), the messages of a labeled batch
// (without the BATCH lines), or an ACK. Err is set instead when no answer
// will come (ErrClosed, ErrPurged).
type LabeledReply struct {
	Messages []*irc.Message
	Err      error
}

// LineDone hears what became of one queued line: at is when it was
// written to the socket (after flood control, once the write returned),
// or err says why it never will be (ErrPurged, ErrClosed, or the write's
// error). It is called exactly once for every line queued, with no lock
// held, on whichever goroutine settled the line (the writer, PurgeTarget's
// or Close's caller...), so it must be quick; never if the Send call that
// was to queue the line failed.
type LineDone func(at time.Time, err error)

// queued is one validated line waiting for the writer.
type queued struct {
	line []byte
	seq  uint64 // order of Send calls, for the barrier rule
	// target is a chat line's target as sent, kept to group the line
	// again if the server changes its casemapping (refold).
	target string
	label  string // SendLabeled's label, to fail its waiter on purge
	quit   bool   // the QUIT: nothing is written after it
	// done, when set, hears what became of the line (SendTracked).
	done LineDone
}

// targetQueue holds the chat lines for one target.
type targetQueue struct {
	key   string // casefolded target
	items []queued
}

// writeQueue orders outgoing lines. Urgent lines (PONG, keepalive PING,
// QUIT) go first and skip flood control: a server that waits for a PONG
// behind a paste disconnects us. Chat lines (PRIVMSG, NOTICE, TAGMSG to one
// target) wait in per-target queues served round-robin, so one long paste
// does not starve other channels and can be dropped when we leave the
// channel. Everything else (JOIN, MODE, WHO...) waits in the general queue
// and acts as a barrier: no line sent after it overtakes it, so a
// PRIVMSG never precedes the JOIN it depends on.
type writeQueue struct {
	urgent  []queued
	general []queued
	targets []*targetQueue // round-robin order; all non-empty
	n       int            // lines in general and targets
	seq     uint64
	// tat is flood control's theoretical arrival time (GCRA), as time
	// since clockBase (a time.Time would take three words); 0: none yet.
	tat time.Duration
}

func (q *writeQueue) pushUrgent(line []byte, quit bool) {
	q.urgent = append(q.urgent, queued{line: line, quit: quit})
}

// push queues a line; key is the casefolded target of a chat line, or ""
// for the general queue.
func (q *writeQueue) push(line []byte, key, label string) {
	q.pushTracked(line, key, key, label, nil)
}

// pushTracked is push with a report of the line's fate (SendTracked) and
// the chat line's target as sent.
func (q *writeQueue) pushTracked(line []byte, target, key, label string, done LineDone) {
	q.seq++
	it := queued{line: line, seq: q.seq, target: target, label: label, done: done}
	q.n++
	if key == "" {
		q.general = append(q.general, it)
		return
	}
	for _, tq := range q.targets {
		if tq.key == key {
			tq.items = append(tq.items, it)
			return
		}
	}
	q.targets = append(q.targets, &targetQueue{key: key, items: []queued{it}})
}

// refold groups the chat lines again under is's casemapping, after the
// server announced a new one. Grouped by the old folding, the lines queued
// for a channel before the change and those queued since would sit in two
// queues served in turn, out of order, and a purge of the channel would
// find only one of them. Each new queue keeps its lines in the order they
// were sent; the rotation starts with the queue whose line is oldest.
func (q *writeQueue) refold(is *ISupport) {
	if len(q.targets) == 0 {
		return
	}
	var all []queued
	for _, tq := range q.targets {
		all = append(all, tq.items...)
	}
	slices.SortFunc(all, func(a, b queued) int { return cmp.Compare(a.seq, b.seq) })
	byKey := make(map[string]*targetQueue, len(q.targets))
	q.targets = q.targets[:0]
	for _, it := range all {
		key := is.Casefold(it.target)
		tq := byKey[key]
		if tq == nil {
			tq = &targetQueue{key: key}
			byKey[key] = tq
			q.targets = append(q.targets, tq)
		}
		tq.items = append(tq.items, it)
	}
}

// hasNormal reports whether a flood-controlled line is waiting.
func (q *writeQueue) hasNormal() bool { return q.n > 0 }

// pop removes and returns the next line: urgent first, then the oldest
// general line unless some target has a line queued before it, in which
// case the next target in rotation that does.
func (q *writeQueue) pop() (queued, bool) {
	if len(q.urgent) > 0 {
		it := q.urgent[0]
		q.urgent = shift(q.urgent)
		return it, true
	}
	barrier := ^uint64(0)
	if len(q.general) > 0 {
		barrier = q.general[0].seq
	}
	for i, tq := range q.targets {
		if tq.items[0].seq > barrier {
			continue
		}
		it := tq.items[0]
		tq.items = shift(tq.items)
		q.targets = append(q.targets[:i], q.targets[i+1:]...)
		if len(tq.items) > 0 {
			q.targets = append(q.targets, tq) // to the back of the rotation
		}
		if len(q.targets) == 0 {
			q.targets = nil
		}
		q.n--
		return it, true
	}
	if len(q.general) > 0 {
		it := q.general[0]
		q.general = shift(q.general)
		q.n--
		return it, true
	}
	return queued{}, false
}

// shift drops the first element, releasing the array once empty so an idle
// connection holds no queue memory.
func shift(s []queued) []queued {
	if len(s) <= 1 {
		return nil
	}
	s[0] = queued{}
	return s[1:]
}

// purge drops the chat queues whose target is key or a STATUSMSG form of
// it ("@#chan" for "#chan") and returns the lines dropped, to be settled.
func (q *writeQueue) purge(key string, is *ISupport) (dropped []queued) {
	kept := q.targets[:0]
	for _, tq := range q.targets {
		_, ch := is.SplitStatusMsg(tq.key)
		if tq.key != key && ch != key {
			kept = append(kept, tq)
			continue
		}
		dropped = append(dropped, tq.items...)
	}
	clear(q.targets[len(kept):])
	q.targets = kept
	if len(q.targets) == 0 {
		q.targets = nil
	}
	q.n -= len(dropped)
	return dropped
}

// clear drops everything but urgent lines and returns the lines dropped,
// to be settled.
func (q *writeQueue) clear() (dropped []queued) {
	dropped = append(dropped, q.general...)
	for _, tq := range q.targets {
		dropped = append(dropped, tq.items...)
	}
	q.general, q.targets, q.n = nil, nil, 0
	return dropped
}

// settleDropped tells whoever waits on lines that will never be written:
// the waiters of their labels and their LineDone hear err. Callers must
// not hold wmu or mu.
func (c *Conn) settleDropped(dropped []queued, err error) {
	var labels []string
	for _, it := range dropped {
		if it.label != "" {
			labels = append(labels, it.label)
		}
	}
	c.resolveLabels(labels, err)
	for _, it := range dropped {
		if it.done != nil {
			it.done(time.Time{}, err)
		}
	}
}

// wait returns how long the next flood-controlled line must wait for a
// token (generic cell rate algorithm: one line per rate, bursts of burst).
func (q *writeQueue) wait(now time.Time, rate time.Duration, burst int) time.Duration {
	if rate <= 0 {
		return 0
	}
	n := now.Sub(clockBase)
	t := n
	if q.tat != 0 {
		t = max(q.tat, n)
	}
	if d := t - n - time.Duration(burst-1)*rate; d > 0 {
		return d
	}
	return 0
}

// take spends a token. Urgent lines spend one too (the server counts
// them) but never wait for it.
func (q *writeQueue) take(now time.Time, rate time.Duration) {
	if rate <= 0 {
		return
	}
	n := now.Sub(clockBase)
	if q.tat == 0 || q.tat < n {
		q.tat = n
	}
	q.tat += rate
}

// signal wakes the writer, or starts it if it is not running; it never
// blocks. Callers must not hold wmu.
func (c *Conn) signal() {
	c.wmu.Lock()
	start := !c.writerOn && !c.ended
	if start {
		c.writerOn = true
		c.live++
	}
	wake := c.wake
	c.wmu.Unlock()
	if start {
		go c.writeLoop()
		return
	}
	// A nil wake means the writer has never waited for flood control,
	// so it is not waiting now: it sees the queue the next time it takes
	// the lock, before any wait (which makes wake first).
	if wake != nil {
		select {
		case wake <- struct{}{}:
		default:
		}
	}
}

// writeLoop is the writer goroutine: signal starts it, and it ends once
// the queue is empty.
func (c *Conn) writeLoop() {
	defer c.exit()
	set := c.set.Value()
	var timer *time.Timer // made on first need, then reused
	for {
		c.wmu.Lock()
		if c.closing {
			c.wmu.Unlock()
			return
		}
		var it queued
		ok := false
		now := time.Now()
		if len(c.q.urgent) > 0 {
			it, ok = c.q.pop()
		} else if c.q.hasNormal() {
			if d := c.q.wait(now, set.rate, set.burst); d > 0 {
				if c.wake == nil {
					c.wake = make(chan struct{}, 1)
				}
				wake := c.wake
				c.wmu.Unlock()
				if timer == nil {
					timer = time.NewTimer(d)
				} else {
					timer.Reset(d)
				}
				select {
				case <-timer.C:
				case <-wake: // maybe an urgent line, a purge or fail
					timer.Stop()
				}
				continue
			}
			it, ok = c.q.pop()
		}
		if ok {
			c.q.take(now, set.rate)
		} else {
			// Nothing left: end. The next line queued starts a writer
			// again (signal), so an idle connection holds no goroutine
			// here.
			c.writerOn = false
		}
		c.wmu.Unlock()
		if !ok {
			return
		}
		c.nc.SetWriteDeadline(time.Now().Add(set.writeTimeout))
		c.logWire("out", it.line)
		if _, err := c.nc.Write(it.line); err != nil {
			werr := c.writeError(err)
			c.fail(werr)
			c.settleDropped([]queued{it}, werr)
			return
		}
		if it.done != nil {
			it.done(time.Now(), nil)
		}
		if it.quit {
			c.afterQuit()
			return
		}
	}
}

func (c *Conn) writeError(err error) error {
	if c.isQuitting() {
		return ErrClosed
	}
	return fmt.Errorf("ircconn: write: %w", err)
}

// afterQuit runs once QUIT is written: half-close so the server sees we are
// done, and let the reader wait QuitTimeout for the server to hang up (it
// usually answers with ERROR and closes at once). Closing straight away
// could reset the connection before the server has read the QUIT, and the
// quit reason would be lost.
func (c *Conn) afterQuit() {
	deadline := time.Now().Add(c.set.Value().quitWait)
	c.quitAt.Store(deadline.UnixNano())
	c.nc.SetReadDeadline(deadline)
	if cw, ok := c.nc.(interface{ CloseWrite() error }); ok {
		_ = cw.CloseWrite()
	}
}

// Send validates msg and queues it. It never blocks: it returns a
// *ValidationError (nothing queued), ErrQueueFull or ErrClosed. PONG and
// QUIT jump the queue; prefer Close to sending QUIT.
func (c *Conn) Send(msg *irc.Message) error {
	return c.enqueue(msg, "", nil)
}

// SendTracked is Send that reports what became of the line: done hears
// once when it was written, or why it never will be (see LineDone). A
// caller that must not claim delivery of lines still queued when the
// connection drops waits for it.
func (c *Conn) SendTracked(msg *irc.Message, done LineDone) error {
	return c.enqueue(msg, "", done)
}

// SendLabeledTracked is SendLabeled with SendTracked's report.
func (c *Conn) SendLabeledTracked(msg *irc.Message, done LineDone) (<-chan LabeledReply, error) {
	return c.sendLabeled(msg, done)
}

// SendLabeled sends msg with a label (labeled-response) and returns a
// channel that receives exactly one LabeledReply: for a PRIVMSG with
// echo-message, the echo carrying the server's msgid and time. The reply
// messages are also passed to the Handler as usual (the label tag tells
// them apart). Fails with ErrNoLabeledResponse without the cap.
func (c *Conn) SendLabeled(msg *irc.Message) (<-chan LabeledReply, error) {
	return c.sendLabeled(msg, nil)
}

// Abandon gives up on the reply to a SendLabeled line: its label is
// forgotten, so it no longer counts against the bound on pending labels,
// and a reply that comes later goes to the Handler only. Call it when no
// longer waiting (a timeout, the end of the caller's context): a server
// that never answers some lines (a filtered message, a bouncer) would
// otherwise leave their labels pending until every labeled send failed
// with ErrTooManyPending. Nothing is sent on reply after it returns.
func (c *Conn) Abandon(reply <-chan LabeledReply) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for label, ch := range c.labels {
		if ch == reply {
			delete(c.labels, label)
			break
		}
	}
	if len(c.labels) == 0 {
		c.labels = nil
	}
}

func (c *Conn) sendLabeled(msg *irc.Message, done LineDone) (<-chan LabeledReply, error) {
	if !c.HasCap("labeled-response") {
		return nil, ErrNoLabeledResponse
	}
	ch := make(chan LabeledReply, 1)
	c.mu.Lock()
	if c.err != nil {
		c.mu.Unlock()
		return nil, ErrClosed
	}
	if len(c.labels) >= maxPendingLabels {
		c.mu.Unlock()
		return nil, ErrTooManyPending
	}
	c.labelSeq++
	label := "f" + strconv.FormatUint(c.labelSeq, 36)
	if c.labels == nil {
		c.labels = map[string]chan LabeledReply{}
	}
	c.labels[label] = ch
	c.mu.Unlock()
	if err := c.enqueue(msg, label, done); err != nil {
		c.mu.Lock()
		delete(c.labels, label)
		c.mu.Unlock()
		return nil, err
	}
	return ch, nil
}

func (c *Conn) enqueue(msg *irc.Message, label string, done LineDone) error {
	line, err := appendMessage(nil, msg, label, c.ISupport().MaxLine())
	if err != nil {
		return err
	}
	target := ""
	switch msg.Command {
	case "PRIVMSG", "NOTICE", "TAGMSG":
		if t := msg.Param(0); !strings.Contains(t, ",") {
			target = t
		}
	}
	var dropped []queued
	c.wmu.Lock()
	// Folded under wmu: a casemapping change regroups the queue under wmu
	// after storing the new mapping, so no line is grouped by the old one
	// after the regrouping.
	key := ""
	if target != "" {
		key = c.ISupport().Casefold(target)
	}
	if c.closing || c.quitting {
		c.wmu.Unlock()
		return ErrClosed
	}
	switch strings.ToUpper(msg.Command) {
	case "PONG":
		c.q.pushUrgent(line, false)
	case "QUIT":
		c.quitting = true
		dropped = c.q.clear()
		c.q.pushUrgent(line, true)
	default:
		if c.q.n >= c.set.Value().queueSize {
			c.wmu.Unlock()
			return ErrQueueFull
		}
		c.q.pushTracked(line, target, key, label, done)
	}
	c.wmu.Unlock()
	c.settleDropped(dropped, ErrClosed)
	c.signal()
	return nil
}

// PurgeTarget drops the chat lines still queued for target (and its
// STATUSMSG forms), as when the user left or was kicked from the channel;
// it returns how many were dropped.
func (c *Conn) PurgeTarget(target string) int {
	c.wmu.Lock()
	// Read under wmu, as enqueue folds: a casemapping change regroups the
	// queue under wmu after storing the new mapping, so the queue is
	// grouped by this one.
	is := c.ISupport()
	dropped := c.q.purge(is.Casefold(target), is)
	c.wmu.Unlock()
	c.settleDropped(dropped, ErrPurged)
	return len(dropped)
}
