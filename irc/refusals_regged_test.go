package irc

import (
	"testing"

	"github.com/ferrybridge/ferry/bridge/network"
)

// TestLineRefusedForNotBeingRegistered: 477 ERR_NEEDREGGEDNICK, the
// numeric that refuses a JOIN, also refuses lines from users not logged
// in: Ergo's to a nick in +R (PMs from registered users only), and
// Hybrid's and ratbox's to a channel that takes lines from logged-in
// users only, where no JOIN of ours is pending. The room is told, the
// refusal answers the line, and nothing is taken for a refused join.
// Nor after `irc join` of the channel we are in: servers answer such a
// JOIN with nothing, so it stays marked as sent; the 477 that follows
// is not its answer (taken for it, it removed the user from the room).
func TestLineRefusedForNotBeingRegistered(t *testing.T) {
	joinAgain := func(cl *Client) {
		if err := cl.joinChannel("#c", "", joinCommanded); err != nil {
			t.Fatalf("joinChannel: %v", err)
		}
	}
	for _, tc := range []struct {
		name, target, refusal, told string
		before                      func(cl *Client)
	}{
		{"PM (Ergo)", "carol", ":srv 477 alice carol :You must be registered to send a direct message to this user",
			"You must be registered to send a direct message", nil},
		{"channel (Hybrid, ratbox)", "#c", ":srv 477 alice #c :Cannot send to channel", "Cannot send to channel", nil},
		{"channel joined again", "#c", ":srv 477 alice #c :Cannot send to channel", "Cannot send to channel", joinAgain},
	} {
		t.Run(tc.name, func(t *testing.T) {
			host := lineRefusedAfter(t, tc.target, []string{tc.refusal}, tc.told, tc.before)
			host.lock.Lock()
			defer host.lock.Unlock()
			for _, evt := range host.events {
				if m, ok := evt.(*network.Membership); ok {
					t.Errorf("a membership change was queued for the refused line: %+v", m)
				}
			}
			if len(host.notified) != 0 {
				t.Errorf("the user was told %q for the refused line", host.notified)
			}
		})
	}
}
