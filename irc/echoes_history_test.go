package irc

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/ferrybridge/ferry/bridge/network"
)

// replayedHistory is a chathistory batch for #c replaying lines, each
// given the batch's tag after its own (lines start with "@" tags).
func replayedHistory(peer *scriptedPeer, lines ...string) {
	peer.write(":srv BATCH +h1 chathistory #c")
	for _, l := range lines {
		peer.write("@batch=h1;" + l[1:])
	}
	peer.write(":srv BATCH -h1")
}

// TestReplayedLineOfOursIsNoEcho: without labeled-response a send waits
// for its line's echo by its words. A chathistory batch that comes
// first, replaying an old line of ours with the same words, is history,
// not the echo: the message must take the msgid of its own echo, not
// the old line's (IRC people's reactions, replies and deletions name it).
// Nor is anyone's replayed line or reaction bridged again.
func TestReplayedLineOfOursIsNoEcho(t *testing.T) {
	addr := scriptedServer(t, "echo-message message-tags batch draft/chathistory", func(line string, peer *scriptedPeer) {
		if strings.HasPrefix(line, "PRIVMSG #c ") {
			replayedHistory(peer,
				"@msgid=old;time=2024-05-01T10:00:00.000Z :alice!alice@host PRIVMSG #c :hello",
				"@msgid=oldb;time=2024-05-01T10:00:01.000Z :bob!bob@host PRIVMSG #c :hello to you",
				"@msgid=oldr;time=2024-05-01T10:00:02.000Z;+draft/react=👍;+draft/reply=old :bob!bob@host TAGMSG #c")
			peer.write("@msgid=m1 :alice!alice@host PRIVMSG #c :hello")
		}
	})
	cl, host, _ := clientOn(t, addr)
	helloTakesM1(t, cl, "test/#c")
	if evts := host.take(); len(evts) != 0 {
		t.Errorf("replayed history was bridged: %+v", evts)
	}
}

// TestReplayedReactionOfOursIsNoEcho: our reaction's line takes its own
// answer among the channel's lines (echoes_untracked.go). A replayed
// old reaction of ours is not that answer: the server's refusal of the
// reaction that follows is the reaction's, and the message sent after it
// still takes its echo's msgid.
func TestReplayedReactionOfOursIsNoEcho(t *testing.T) {
	reactionRefusedThenMessageEchoed(t, "echo-message message-tags batch draft/chathistory", func(peer *scriptedPeer) {
		replayedHistory(peer, "@msgid=old;+draft/react=👍;+draft/reply=abc-123 :alice!alice@host TAGMSG #c")
	})
}

// TestReplayedLineOfOursWithoutBatchIsNoEcho: a server without batch
// (InspIRCd's chanhistory without the batch module) replays a channel's
// recent lines at our JOIN unmarked, with their server-time and msgid.
// An old line of ours there, older than our JOIN, is no more the echo a
// send of the same words waits for than one in a chathistory batch.
func TestReplayedLineOfOursWithoutBatchIsNoEcho(t *testing.T) {
	stamp := func(at time.Time) string { return at.UTC().Format("2006-01-02T15:04:05.000Z") }
	addr := scriptedServer(t, "echo-message message-tags server-time", func(line string, peer *scriptedPeer) {
		switch {
		case line == "JOIN #d":
			peer.write("@time=" + stamp(time.Now()) + " :alice!alice@host JOIN #d")
		case strings.HasPrefix(line, "PRIVMSG #d "):
			peer.write("@msgid=old;time=" + stamp(time.Now().Add(-time.Hour)) + " :alice!alice@host PRIVMSG #d :hello")
			peer.write("@msgid=m1;time=" + stamp(time.Now()) + " :alice!alice@host PRIVMSG #d :hello")
		}
	})
	cl, _, _ := clientOn(t, addr)
	if err := cl.joinChannel("#d", "", joinAsked); err != nil {
		t.Fatalf("joinChannel: %v", err)
	}
	waitFor(t, "the JOIN of #d", func() bool { return cl.inChannel("#d") })
	helloTakesM1(t, cl, "test/#d")
}

// helloTakesM1 sends "hello" to chat, which the server answers with a
// replay of our old "hello" (msgid old) and then its echo m1: the
// message must take id:m1.
func helloTakesM1(t *testing.T, cl *Client, chat network.ChatID) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	res, err := cl.Send(ctx, textTo(chat, "hello"))
	if err != nil {
		t.Fatalf("Send: %v", err)
	}
	if res.ID != "id:m1" {
		t.Errorf("the message took the ID %q, want id:m1 (id:old is a replayed line's)", res.ID)
	}
}
