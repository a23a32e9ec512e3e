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

// firstRefusedThenEchoed answers, on a scripted server, the PRIVMSGs to
// target: the first with the refusal lines, every later one with its
// echo as m2; each is passed on to sent. It reports whether line was
// one of them, for handlers that answer other lines too.
func firstRefusedThenEchoed(target string, refusal []string, sent chan<- string) func(line string, peer *scriptedPeer) bool {
	var privmsgs atomic.Int32
	return func(line string, peer *scriptedPeer) bool {
		if !strings.HasPrefix(line, "PRIVMSG "+target+" ") {
			return false
		}
		if privmsgs.Add(1) == 1 {
			for _, l := range refusal {
				peer.write(l)
			}
		} else {
			peer.write("@msgid=m2 :alice!alice@host PRIVMSG " + target + " :hello")
		}
		sent <- line
		return true
	}
}

// lineRefusedBy sends a message to target (a nick: a PM) twice with the
// same words on a scripted server with echo-message and no
// labeled-response: the first is answered with the refusal lines, the
// second (sent while the first still waits) is echoed as m2. The second
// must take id:m2, the first must not, and target's room must get a
// notice containing told. It returns the host, for more checks of what
// was queued.
func lineRefusedBy(t *testing.T, target string, refusal []string, told string) *fakeHost {
	t.Helper()
	return lineRefusedAfter(t, target, refusal, told, nil)
}

// lineRefusedAfter is lineRefusedBy where before (when not nil) acts on
// the client first.
func lineRefusedAfter(t *testing.T, target string, refusal []string, told string, before func(cl *Client)) *fakeHost {
	t.Helper()
	sent := make(chan string, 4)
	answer := firstRefusedThenEchoed(target, refusal, sent)
	addr := scriptedServer(t, "echo-message message-tags", func(line string, peer *scriptedPeer) { answer(line, peer) })
	cl, host, _ := clientOn(t, addr)
	if before != nil {
		before(cl)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	room := network.ChatID("test/" + target)
	msg := textTo(room, "hello")
	if !cl.isChannelName(target) {
		msg.Portal.Receiver = cl.loginID
	}
	sendWhileFirstWaits(t, ctx, cl, msg, sent, "message")
	notices := 0
	host.lock.Lock()
	for _, evt := range host.events {
		if m, ok := evt.(*network.Message); ok && len(m.Parts) == 1 {
			if c := m.Parts[0].Content; c != nil && c.MsgType == event.MsgNotice && strings.Contains(c.Body, told) {
				notices++
				if m.Portal.Chat != room {
					t.Errorf("the refusal was told in %q, want %s's room %s", m.Portal.Chat, target, room)
				}
			}
		}
	}
	host.lock.Unlock()
	if notices != 1 {
		t.Errorf("%s's room got %d notices of the refusal, want 1", target, notices)
	}
	return host
}
