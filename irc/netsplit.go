package irc

import (
	"regexp"
	"time"

	"github.com/ferrybridge/ferry/bridge/network"
)

// netsplitWindow is how long the leaves of a netsplit are held back: a
// nick that rejoins within it (the servers healed) is neither left nor
// joined in Matrix; the other leaves are bridged together when it ends.
// Tests shorten it.
var netsplitWindow = newDuration(15 * time.Second)

// netsplitRE is the QUIT reason servers give for a split: the two server
// names ("hub.example.net leaf.example.net", hidden as "*.net *.split").
var netsplitRE = regexp.MustCompile(`^[A-Za-z0-9*_-]+(\.[A-Za-z0-9*_-]+)+ [A-Za-z0-9*_-]+(\.[A-Za-z0-9*_-]+)+$`)

func isNetsplitReason(reason string) bool { return netsplitRE.MatchString(reason) }

type heldKey struct{ nick, channel string } // both casefolded

// splitHold is the leaves held back during a netsplit; cl.lock guards it.
type splitHold struct {
	timer *time.Timer
	keys  []heldKey
	held  map[heldKey]network.Event
}

// holdSplitLeave holds a leave caused by a netsplit QUIT.
func (cl *Client) holdSplitLeave(nick, channel string, evt network.Event) {
	key := heldKey{cl.fold(nick), channel}
	cl.lock.Lock()
	defer cl.lock.Unlock()
	h := &cl.split
	if h.held == nil {
		h.held = make(map[heldKey]network.Event)
	}
	if _, ok := h.held[key]; !ok {
		h.keys = append(h.keys, key)
	}
	h.held[key] = evt
	if h.timer == nil {
		h.timer = time.AfterFunc(netsplitWindow.get(), cl.flushSplitLeaves)
	}
}

// splitRejoined reports (and forgets) a held leave of nick in channel: the
// nick came back, so neither its leave nor its join is bridged.
func (cl *Client) splitRejoined(nick, channel string) bool {
	key := heldKey{cl.fold(nick), channel}
	cl.lock.Lock()
	defer cl.lock.Unlock()
	if _, ok := cl.split.held[key]; !ok {
		return false
	}
	delete(cl.split.held, key)
	return true
}

// flushSplitLeaves bridges the leaves of those who did not come back.
func (cl *Client) flushSplitLeaves() {
	cl.lock.Lock()
	h := &cl.split
	var events []network.Event
	for _, key := range h.keys {
		if evt, ok := h.held[key]; ok {
			events = append(events, evt)
		}
	}
	cl.split = splitHold{}
	cl.lock.Unlock()
	for _, evt := range events {
		cl.queue(evt)
	}
}

// dropSplitLeavesLocked forgets the held leaves, for our own connection
// ended: the next one's NAMES lists who is there, and a leave held from
// the old one, bridged after it, would take a ghost out of a room its
// person is in. cl.lock must be held.
func (cl *Client) dropSplitLeavesLocked() {
	if cl.split.timer != nil {
		cl.split.timer.Stop()
	}
	cl.split = splitHold{}
}
