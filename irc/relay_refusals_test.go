package irc

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/ferrybridge/ferry/bridge/network"
)

// TestRelayedLineRefusedForNotBeingRegistered: Hybrid and ratbox refuse
// a line to a channel that takes lines from logged-in users only with
// 477 for the channel, the numeric that refuses a JOIN. To the relay bot,
// with no JOIN of its waiting there, it refuses the relayed line, which
// is told in the channel's room; while its JOIN waits, it answers the
// JOIN, as before. Hybrid's 408 (control codes, +c) and 492 (CTCPs, +C)
// refuse only lines: told, even while a JOIN waits (the line was sent
// before it, the bot then kicked), never the JOIN's answer.
func TestRelayedLineRefusedForNotBeingRegistered(t *testing.T) {
	for _, tc := range []struct {
		refusal    string
		answerJoin bool // while the bot's JOIN waits
	}{
		{":srv 477 ferry-relay #c :Cannot send to channel", true},
		{":srv 408 ferry-relay #c :You cannot use control codes on this channel. Not sent: hi", false},
		{":srv 492 ferry-relay #c :You cannot send CTCPs to this channel. Not sent: hi", false},
	} {
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
			b.handle(line(t, tc.refusal))
			var told []string
			for _, n := range notices(t, host.take()) {
				if n.Portal != chanPortal {
					t.Errorf("told in %v, want #c's room %v", n.Portal, chanPortal)
				}
				told = append(told, n.Parts[0].Content.Body)
			}
			if joining && tc.answerJoin {
				if len(told) != 0 || len(joined) != 1 {
					t.Errorf("%s while the bot's JOIN waits: told %q, the JOIN answered %v; want it the JOIN's answer", tc.refusal, told, len(joined) == 1)
				}
				continue
			}
			if len(told) != 1 || !strings.Contains(told[0], "A relayed message in #c did not reach IRC") || len(joined) != 0 {
				t.Errorf("%s (a JOIN waiting: %v): the refused relayed line was told as %q, the JOIN answered %v; want it told once in #c's room", tc.refusal, joining, told, len(joined) == 1)
			}
		}
	}
}

// TestRelayJoinRefusedLateIsToldAsJoin: the server answers the relay
// bot's JOIN only after the relayed message stopped waiting for it (the
// sender was told the server did not answer). Its refusal, a 477 that
// also refuses lines (Hybrid, ratbox), is the JOIN's: the room is told
// the bot could not join, in the server's words, never that a relayed
// message did not reach IRC. A scripted server: InspIRCd answers a JOIN
// at once.
func TestRelayJoinRefusedLateIsToldAsJoin(t *testing.T) {
	old := relayJoinTimeout
	relayJoinTimeout = time.Second
	t.Cleanup(func() { relayJoinTimeout = old })

	joins := make(chan *scriptedPeer, 1)
	addr := scriptedServer(t, "", func(line string, peer *scriptedPeer) {
		if strings.HasPrefix(line, "JOIN #c") {
			joins <- peer // answered late, below
		}
	})
	c := New()
	host := &fakeHost{}
	c.host = host
	t.Cleanup(c.cancel)
	cfg := &NetworkConfig{Address: addr, PMFromStrangers: new(bool), RelayAllowed: true, Flood: FloodConfig{Unlimited: true}}
	carol := inChannelC(t, c, cfg, "carol")
	msg := textTo("test/#c", "hello")
	msg.Sender, msg.Relay = "@dave:ex.org", &network.RelaySender{DisplayName: "dave"}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if _, err := carol.Send(ctx, msg); err == nil {
		t.Fatal("relayed though the bot's JOIN was never answered")
	}
	var peer *scriptedPeer
	select {
	case peer = <-joins:
	case <-ctx.Done():
		t.Fatal("the relay bot never sent its JOIN")
	}
	peer.write(":srv 477 alice #c :You need a registered nick to join that channel")
	waitFor(t, "the late refusal of the JOIN told", func() bool {
		return len(noticesSaying(host, "relay bot could not join #c")) == 1
	})
	if told := noticesSaying(host, "You need a registered nick"); len(told) != 1 || told[0].Portal != chanPortal {
		t.Errorf("told %+v, want once in #c's room", told)
	}
	if told := noticesSaying(host, "A relayed message"); len(told) != 0 {
		t.Errorf("the refused JOIN was told as a relayed line refused: %+v", told)
	}
}

// TestRelayJoinRefusedByAnyNumericIsAnswered: a JOIN of the relay bot
// refused by a numeric beyond the common ones (470 forwarded, naming
// its forward; InspIRCd's 520 opers only; 437 held for now; one no list
// names) is answered at once with the server's words, not left waiting
// until it times out as unanswered.
func TestRelayJoinRefusedByAnyNumericIsAnswered(t *testing.T) {
	for _, tc := range []struct{ refusal, reason string }{
		{":srv 470 ferry-relay #c #c-overflow :Forwarding to another channel", "Forwarding to another channel (forwarded to #c-overflow)"},
		{":srv 520 ferry-relay #c :Only server operators may join #c (+O is set)", "Only server operators may join #c (+O is set)"},
		{":srv 437 ferry-relay #c :Nick/channel is temporarily unavailable", "Nick/channel is temporarily unavailable"},
		{":srv 519 ferry-relay #c :Cannot join channel (+A)", "Cannot join channel (+A)"},
	} {
		c := New()
		c.host = &fakeHost{}
		t.Cleanup(c.cancel)
		joined := make(chan string, 1)
		b := &relayBot{c: c, cfg: &NetworkConfig{}, netName: "test", nick: "ferry-relay",
			channels: map[string]bool{}, waiting: map[string]chan string{"#c": joined}}
		b.handle(line(t, tc.refusal))
		select {
		case reason := <-joined:
			if reason != tc.reason {
				t.Errorf("%s: the JOIN was refused with %q, want %q", tc.refusal, reason, tc.reason)
			}
		default:
			t.Errorf("%s: the JOIN still waits", tc.refusal)
		}
	}
}
