package irc

import (
	"strings"
	"testing"
)

// TestRelayedLineRefusedForNotBeingRegistered: Hybrid and ratbox refuse
// a line to a channel that takes lines from logged-in users only with
// 477 for the channel, the numeric that refuses a JOIN. To the relay bot,
// with no JOIN of its waiting there, it refuses the relayed line, which
// is told in the channel's room; while its JOIN waits, it answers the
// JOIN, as before.
func TestRelayedLineRefusedForNotBeingRegistered(t *testing.T) {
	for _, joining := range []bool{false, true} {
		c := New()
		host := &fakeHost{}
		c.host = host
		t.Cleanup(c.cancel)
		cfg := &NetworkConfig{PMFromStrangers: new(bool), RelayAllowed: true, Flood: FloodConfig{Unlimited: true}}
		alice := inChannelC(t, c, cfg, "alice")
		joined := make(chan string, 1)
		b := &relayBot{c: c, cfg: cfg, netName: "test", nick: "ferry-relay",
			channels: map[string]bool{"#c": true}, waiting: map[string]chan string{}, relayers: map[string]*Client{"#c": alice}}
		if joining {
			b.waiting["#c"] = joined
		}
		b.handle(line(t, ":srv 477 ferry-relay #c :Cannot send to channel"))
		var told []string
		for _, n := range notices(t, host.take()) {
			if n.Portal != chanPortal {
				t.Errorf("told in %v, want #c's room %v", n.Portal, chanPortal)
			}
			told = append(told, n.Parts[0].Content.Body)
		}
		if joining {
			if len(told) != 0 || len(joined) != 1 {
				t.Errorf("a 477 while the bot's JOIN waits: told %q, the JOIN answered %v; want it the JOIN's answer", told, len(joined) == 1)
			}
			continue
		}
		if len(told) != 1 || !strings.Contains(told[0], "A relayed message in #c did not reach IRC") {
			t.Errorf("the refused relayed line was told as %q, want once in #c's room", told)
		}
	}
}
