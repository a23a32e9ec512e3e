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
func TestLineRefusedForNotBeingRegistered(t *testing.T) {
	for _, tc := range []struct{ name, target, refusal, told string }{
		{"PM (Ergo)", "carol", ":srv 477 alice carol :You must be registered to send a direct message to this user",
			"You must be registered to send a direct message"},
		{"channel (Hybrid, ratbox)", "#c", ":srv 477 alice #c :Cannot send to channel", "Cannot send to channel"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			host := lineRefusedBy(t, tc.target, []string{tc.refusal}, tc.told)
			host.lock.Lock()
			defer host.lock.Unlock()
			for _, evt := range host.events {
				if m, ok := evt.(*network.Membership); ok {
					t.Errorf("a membership change was queued for the refused line: %+v", m)
				}
			}
		})
	}
}
