package irc

import (
	"sync"

	"gopkg.in/irc.v4"
)

// handleHeld handles the lines held until the connection was published.
func (cl *Client) handleHeld() {
	if dropped := cl.hold.release(cl.handle); dropped > 0 {
		cl.log.Warn().Int("dropped", dropped).Int("kept", maxHeldLines).Msg("IRC lines received before the connection was ready were dropped")
	}
}

// maxHeldLines bounds the lines held for a connection not yet published:
// a greeting, its MOTD and a bouncer's burst fit many times over.
const maxHeldLines = 10000

// lineHold keeps the lines a new connection hands over until the login
// has published it (onConnected). ircconn starts reading when Dial
// returns, and hands over at once what came with the end of the MOTD (a
// bouncer's JOINs, a PM); handled before the connection and our nick are
// set, they would be dropped or not taken as ours. Holding rather than
// blocking keeps the reader free: Dial's own goroutine delivers the
// greeting, and it must not wait for what runs after Dial.
type lineHold struct {
	// mu is held while a line is handled, by the reader or by release,
	// so that lines are handled in order and never concurrently.
	mu sync.Mutex
	// held is set only while holding: every login has a lineHold, and
	// a connected one needs no more of it than this pointer.
	held *heldLines
}

type heldLines struct {
	msgs    []*irc.Message
	dropped int // lines over maxHeldLines
}

// start holds the lines of the connection about to be dialled.
func (h *lineHold) start() {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.held = &heldLines{}
}

// drop stops holding and forgets what was held: the connection is not
// going to be used.
func (h *lineHold) drop() {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.held = nil
}

// release hands the held lines to handle, in order, then lets the reader
// hand over its lines directly; it returns how many were dropped.
func (h *lineHold) release(handle func(*irc.Message)) (dropped int) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.held == nil {
		return 0
	}
	for _, msg := range h.held.msgs {
		handle(msg)
	}
	dropped = h.held.dropped
	h.held = nil
	return dropped
}

// receive is ircconn's Handler: it handles msg, or holds it while the
// connection is not yet published (lineHold).
func (cl *Client) receive(msg *irc.Message) {
	h := &cl.hold
	h.mu.Lock()
	defer h.mu.Unlock()
	switch {
	case h.held == nil:
		cl.handle(msg)
	case len(h.held.msgs) < maxHeldLines:
		h.held.msgs = append(h.held.msgs, msg)
	default:
		h.held.dropped++
	}
}
