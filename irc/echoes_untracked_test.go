package irc

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/ferrybridge/ferry/bridge/network"
)

// TestEchoAfterARefusedReaction: without labeled-response, the server's
// answers to our lines to a target come in order, and a line no send
// waits for (here a reaction's TAGMSG) has its answer among them. The
// server refuses the reaction and echoes the message sent after it; the
// refusal is the reaction's, so the message must still take its echo's
// msgid (IRC people's reactions, replies and deletions name it).
func TestEchoAfterARefusedReaction(t *testing.T) {
	reactionRefusedThenMessageEchoed(t, "echo-message message-tags", nil)
}

// reactionRefusedThenMessageEchoed reacts in #c, then sends "hello", on
// a scripted server offering caps that, once it has both lines (as a
// server that has read both before it writes does), writes what before
// writes (nil: nothing), a 404 refusing the reaction and the message's
// echo m1. The refusal is the reaction's: the message must take id:m1.
func reactionRefusedThenMessageEchoed(t *testing.T, caps string, before func(peer *scriptedPeer)) {
	t.Helper()
	addr := scriptedServer(t, caps, func(line string, peer *scriptedPeer) {
		if strings.HasPrefix(line, "PRIVMSG #c ") { // the reaction's TAGMSG came first
			if before != nil {
				before(peer)
			}
			peer.write(":srv 404 alice #c :You cannot send TAG messages to this channel")
			peer.write("@msgid=m1 :alice!alice@host PRIVMSG #c :hello")
		}
	})
	cl, _, _ := clientOn(t, addr)
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	target := network.MessageRef{ID: "id:abc-123"}
	if _, err := cl.React(ctx, &network.OutgoingReaction{OutgoingMeta: network.OutgoingMeta{Portal: chanPortal}, Target: target, Key: "👍"}); err != nil {
		t.Fatalf("React: %v", err)
	}
	res, err := cl.Send(ctx, textTo("test/#c", "hello"))
	if err != nil {
		t.Fatalf("Send: %v", err)
	}
	if res.ID != "id:m1" {
		t.Errorf("the message took the ID %q, want id:m1 (the refusal was the reaction's)", res.ID)
	}
}

// TestRefusalAfterAnEchoedReaction: the echo of our reaction answers its
// TAGMSG, so the refusal that follows is the message's. Otherwise the
// refused message still waited, and took the echo of the next message
// with its words, which then kept a Ferry-made ID.
func TestRefusalAfterAnEchoedReaction(t *testing.T) {
	sent := make(chan string, 4)
	answer := firstRefusedThenEchoed("#c", []string{":srv 404 alice #c :Cannot send to channel (+m)"}, sent)
	addr := scriptedServer(t, "echo-message message-tags", func(line string, peer *scriptedPeer) {
		if strings.Contains(line, " TAGMSG #c") {
			peer.write("@+draft/react=👍;+draft/reply=abc-123 :alice!alice@host TAGMSG #c")
			return
		}
		answer(line, peer)
	})
	cl, _, _ := clientOn(t, addr)
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	target := network.MessageRef{ID: "id:abc-123"}
	if _, err := cl.React(ctx, &network.OutgoingReaction{OutgoingMeta: network.OutgoingMeta{Portal: chanPortal}, Target: target, Key: "👍"}); err != nil {
		t.Fatalf("React: %v", err)
	}
	sendWhileFirstWaits(t, ctx, cl, textTo("test/#c", "hello"), sent, "message")
}
