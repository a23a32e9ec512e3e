package irc

import (
	"context"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"maunium.net/go/mautrix/event"

	"github.com/ferrybridge/ferry/bridge/network"
)

// ircnetISupport announces IRCnet's channel types, "+" among them: a
// channel without modes.
const ircnetISupport = "CHANTYPES=#&!+ CASEMAPPING=rfc1459"

// noticesSaying are the notices queued on host whose body contains text.
func noticesSaying(host *fakeHost, text string) []*network.Message {
	host.lock.Lock()
	defer host.lock.Unlock()
	var out []*network.Message
	for _, evt := range host.events {
		if m, ok := evt.(*network.Message); ok && len(m.Parts) == 1 && m.Parts[0].Content != nil &&
			m.Parts[0].Content.MsgType == event.MsgNotice && strings.Contains(m.Parts[0].Content.Body, text) {
			out = append(out, m)
		}
	}
	return out
}

// TestModeQueryRefusedIsNoLineRefused: IRCnet (no capabilities) answers
// the MODE query Ferry sends on joining a channel without modes (+d)
// with 477 ERR_NOCHANMODES, the number other servers give a line refused
// for not being logged in. It answers the query: nothing is told. A 477
// answering no query (Hybrid's, for #c) is still a line refused. A
// scripted server: InspIRCd sends no ERR_NOCHANMODES.
func TestModeQueryRefusedIsNoLineRefused(t *testing.T) {
	addr := scriptedServerISupport(t, "", ircnetISupport, func(line string, peer *scriptedPeer) {
		if line == "MODE +d" {
			peer.write(":srv 477 alice +d :Channel doesn't support modes")
			peer.write(":srv 477 alice #c :Cannot send to channel")
		}
	})
	cl, host, _ := clientOn(t, addr)
	cl.handle(line(t, ":alice!alice@host JOIN +d"))
	waitFor(t, "the 477 for #c told", func() bool { return len(noticesSaying(host, "Cannot send to channel")) == 1 })
	if told := noticesSaying(host, "did not arrive"); len(told) != 1 || told[0].Portal.Chat != "test/#c" {
		t.Errorf("told %+v, want only #c's refused line", told)
	}
}

// TestNoChanModesTakesNoWaitingLine: where sends wait for their echo, a
// 477 that answers our MODE query, though a message to the channel
// waits, is not that message's refusal: it keeps its echo's msgid and
// nothing is told. A 477 when no line waits answers something else of
// ours (a MODE sent raw): a change not made, never a message lost.
func TestNoChanModesTakesNoWaitingLine(t *testing.T) {
	sent := make(chan string, 4)
	addr := scriptedServerISupport(t, "echo-message message-tags", ircnetISupport, func(line string, peer *scriptedPeer) {
		if strings.HasPrefix(line, "PRIVMSG +d ") {
			// The MODE query came first: its answer first.
			peer.write(":srv 477 alice +d :Channel doesn't support modes")
			peer.write("@msgid=m2 :alice!alice@host PRIVMSG +d :hello")
			sent <- line
		}
	})
	cl, host, _ := clientOn(t, addr)
	cl.handle(line(t, ":alice!alice@host JOIN +d"))
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	res, err := cl.Send(ctx, textTo("test/+d", "hello"))
	if err != nil {
		t.Fatalf("Send: %v", err)
	}
	if res.ID != "id:m2" {
		t.Errorf("the message took the ID %q, want its echo's id:m2", res.ID)
	}
	if told := noticesSaying(host, "+d"); len(told) != 0 {
		t.Errorf("the answer to the MODE query was told: %+v", told)
	}

	cl.handle(line(t, ":srv 477 alice +d :Channel doesn't support modes"))
	if told := noticesSaying(host, "did not arrive"); len(told) != 0 {
		t.Errorf("a 477 answering no line was told as a line lost: %+v", told)
	}
	if told := noticesSaying(host, "was not made"); len(told) != 1 {
		t.Errorf("a 477 answering no line was told %d times as a change not made, want once", len(told))
	}
}

// lineRefusedCrossing is alice, logged in through a scripted server,
// having sent body to channel (not waiting for an echo): the server
// answers the next line, then, that follows it with answers (the
// message's refusal crossing then on the wire first).
func lineRefusedCrossing(t *testing.T, channel, body, then string, answers ...string) (*Client, *fakeHost) {
	t.Helper()
	var sentLine atomic.Bool
	addr := scriptedServer(t, "", func(line string, peer *scriptedPeer) {
		switch {
		case strings.HasPrefix(line, "PRIVMSG "+channel+" "):
			sentLine.Store(true)
		case line == then && sentLine.Load():
			for _, answer := range answers {
				peer.write(answer)
			}
		}
	})
	cl, host, _ := clientOn(t, addr)
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	if _, err := cl.Send(ctx, textTo(network.ChatID("test/"+channel), body)); err != nil {
		t.Fatalf("Send: %v", err)
	}
	waitFor(t, "the message on the wire", sentLine.Load)
	return cl, host
}

// TestLineRefusalCrossingModeQueryIsTold: on Hybrid a 477 for a channel
// refuses a line (+M: only logged-in users speak). A message sent just
// before a mode change makes Ferry ask for the channel's modes has its
// 477 read while that MODE query waits: it is still the message's
// refusal, told, and not taken for the query's answer (only a channel
// without modes, "+", answers one with 477).
func TestLineRefusalCrossingModeQueryIsTold(t *testing.T) {
	cl, host := lineRefusedCrossing(t, "#c", "hello", "MODE #c",
		":srv 477 alice #c :Cannot send to channel (+M)", ":srv 324 alice #c +intM")
	cl.handle(line(t, ":op!op@host MODE #c +i"))
	waitFor(t, "the refused message told", func() bool { return len(noticesSaying(host, "did not arrive")) == 1 })
}
