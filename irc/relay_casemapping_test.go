package irc

import (
	"context"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ferrybridge/ferry/bridge/network"
	"github.com/ferrybridge/ferry/irc/ircconn"
)

// TestRelayBotKeepsItsFoldingMidSession: the relay bot joined #a[1]
// while its server folded rfc1459 ("#a{1}"); then the server sends a
// 005 with CASEMAPPING=ascii in the middle of the session. A login takes
// a new casemapping only at its next connect, and so must the bot: it
// is still in #a[1], and the next relayed line goes out at once, not
// after a second JOIN that a server ignores for a channel one is in
// (the line would then be refused as "the server did not answer").
func TestRelayBotKeepsItsFoldingMidSession(t *testing.T) {
	old := relayJoinTimeout
	relayJoinTimeout = 2 * time.Second
	t.Cleanup(func() { relayJoinTimeout = old })

	var joins atomic.Int32
	relayed := make(chan string, 4)
	addr := scriptedServer(t, "", func(line string, peer *scriptedPeer) {
		switch {
		case strings.HasPrefix(line, "JOIN #a[1]"):
			// Like a real server, one JOIN is answered; another, for a
			// channel the client is in already, is not.
			if joins.Add(1) == 1 {
				peer.write(":alice!relay@host JOIN #a[1]")
				peer.write(":srv 005 alice CASEMAPPING=ascii :are supported")
			}
		case strings.HasPrefix(line, "PRIVMSG #a[1] "):
			relayed <- line
		}
	})
	c := New()
	c.host = &loginHost{}
	t.Cleanup(c.cancel)
	cfg := &NetworkConfig{Address: addr, PMFromStrangers: new(bool), RelayAllowed: true, Flood: FloodConfig{Unlimited: true}}
	carol := inChannelC(t, c, cfg, "carol")
	carol.lock.Lock()
	carol.channels["#a{1}"] = &channelState{name: "#a[1]", members: map[string]string{"carol": ""}, synced: true}
	carol.lock.Unlock()

	for i, body := range []string{"before", "after"} {
		msg := textTo("test/#a{1}", body)
		msg.Sender, msg.Relay = "@dave:ex.org", &network.RelaySender{DisplayName: "dave"}
		if _, err := carol.Send(context.Background(), msg); err != nil {
			t.Fatalf("relaying %q: %v", body, err)
		}
		select {
		case line := <-relayed:
			if !strings.Contains(line, body) {
				t.Fatalf("relayed %q, want %q", line, body)
			}
		case <-time.After(10 * time.Second):
			t.Fatalf("the relayed %q never reached the server", body)
		}
		if i == 0 {
			b := c.relays["test"]
			waitFor(t, "the mid-session 005", func() bool {
				conn := b.current()
				return conn != nil && conn.ISupport().CaseMapping == ircconn.CaseMappingASCII
			})
		}
	}
	if n := joins.Load(); n != 1 {
		t.Errorf("the relay bot sent JOIN #a[1] %d times, want once", n)
	}
}
