package irc

import (
	"testing"

	"github.com/ferrybridge/ferry/bridge/network"
)

// TestPMRefusedForNotBeingRegistered: Ergo refuses a PM to a user in +R
// (PMs from registered users only) with 477 ERR_NEEDREGGEDNICK, the
// numeric that refuses a JOIN when its target is a channel. To a nick it
// is a PM refusal: the PM room is told, the refusal answers the line, and
// nothing is taken for a refused join.
func TestPMRefusedForNotBeingRegistered(t *testing.T) {
	host := lineRefusedBy(t, "carol", []string{
		":srv 477 alice carol :You must be registered to send a direct message to this user",
	}, "You must be registered to send a direct message")
	host.lock.Lock()
	defer host.lock.Unlock()
	for _, evt := range host.events {
		if m, ok := evt.(*network.Membership); ok {
			t.Errorf("a membership change was queued for the PM refusal: %+v", m)
		}
	}
}
