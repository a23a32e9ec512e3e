package irc

import (
	"slices"
	"strings"
	"testing"

	"github.com/ferrybridge/ferry/bridge/network"
)

// TestEveryJoinRefusalIsTold: numerics that refuse a JOIN beyond the
// common ones (470 forwarded to a linked channel, InspIRCd's 520 opers
// only and 495 kicked too recently, 437 the channel held for now, and
// one no list names) answer `irc join`: the user is told in the
// server's words (with 470's forward), and the JOIN is no longer marked
// as sent (a mark left stale took a later 477 for the JOIN's answer).
// A scripted server, for the numerics the InspIRCd test
// (TestE2EJoinRefusedByOperOnlyOrRedirectIsTold: 520, 470) does not
// reach and for the mark itself; 520's words are InspIRCd's.
func TestEveryJoinRefusalIsTold(t *testing.T) {
	for _, tc := range []struct{ name, refusal, told string }{
		{"470", ":srv 470 alice #d #d-overflow :Forwarding to another channel", `Could not join \#d on test: Forwarding to another channel (forwarded to #d-overflow)`},
		{"520", ":srv 520 alice #d :Only server operators may join #d (+O is set)", `Could not join \#d on test: Only server operators may join #d (+O is set)`},
		{"495", ":srv 495 alice #d :You must wait 10 seconds after being kicked to rejoin (+J is set)", `Could not join \#d on test: You must wait 10 seconds`},
		{"437", ":srv 437 alice #d :Nick/channel is temporarily unavailable", `Could not join \#d on test: Nick/channel is temporarily unavailable`},
		{"unlisted", ":srv 519 alice #d :Cannot join channel (+A)", `Could not join \#d on test: Cannot join channel (+A)`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			addr := scriptedServer(t, "", func(string, *scriptedPeer) {})
			cl, host, _ := clientOn(t, addr)
			if err := cl.joinChannel("#d", "", joinCommanded); err != nil {
				t.Fatalf("joinChannel: %v", err)
			}
			cl.handle(line(t, tc.refusal))
			if cl.joinPending("#d") {
				t.Errorf("the refused JOIN is still marked as sent")
			}
			waitFor(t, "the refused join told", func() bool {
				host.lock.Lock()
				defer host.lock.Unlock()
				return slices.ContainsFunc(host.notified, func(text string) bool { return strings.HasPrefix(text, tc.told) })
			})
		})
	}
}

// TestUnavailableNickIsNoJoinRefusal: 437 also refuses a NICK (the nick
// held for now); naming no channel we are joining, it is not taken for
// a JOIN's answer.
func TestUnavailableNickIsNoJoinRefusal(t *testing.T) {
	addr := scriptedServer(t, "", func(string, *scriptedPeer) {})
	cl, host, _ := clientOn(t, addr)
	if err := cl.joinChannel("#d", "", joinCommanded); err != nil {
		t.Fatalf("joinChannel: %v", err)
	}
	cl.handle(line(t, ":srv 437 alice alicia :Nick/channel is temporarily unavailable"))
	if !cl.joinPending("#d") {
		t.Errorf("a 437 for a nick ended the pending JOIN of #d")
	}
	host.lock.Lock()
	defer host.lock.Unlock()
	if len(host.notified) != 0 || len(host.events) != 0 {
		t.Errorf("a 437 for a nick was told: %q %+v", host.notified, host.events)
	}
}

// TestLineRefusalCrossingJoinIsNoJoinRefusal: Hybrid refuses a message
// with colours to a +c channel with 408 ERR_NOCTRLSONCHAN naming the
// channel. Sent before our JOIN there (the channel takes messages from
// outside), its refusal is read while the JOIN is pending: it is the
// message's, told as such, and the JOIN that follows it succeeds: the
// user is not removed from the room.
func TestLineRefusalCrossingJoinIsNoJoinRefusal(t *testing.T) {
	cl, host := lineRefusedCrossing(t, "#d", "\x02hello", "JOIN #d",
		":srv 408 alice #d :You cannot use control codes on this channel. Not sent: hello", ":alice!alice@host JOIN #d")
	if err := cl.joinChannel("#d", "", joinAsked); err != nil {
		t.Fatalf("joinChannel: %v", err)
	}
	waitFor(t, "the JOIN answered", func() bool {
		cl.lock.Lock()
		defer cl.lock.Unlock()
		return cl.channels["#d"] != nil
	})
	// Read before the JOIN, the 408 was handled by now.
	host.lock.Lock()
	for _, evt := range host.events {
		if m, ok := evt.(*network.Membership); ok && m.TargetIsMe && m.Action == network.MembershipKick {
			t.Errorf("the message's refusal removed the user from %s: %+v", m.Portal.Chat, m)
		}
	}
	host.lock.Unlock()
	waitFor(t, "the refused message told", func() bool { return len(noticesSaying(host, "did not arrive")) == 1 })
}
