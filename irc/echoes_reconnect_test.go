package irc

import (
	"context"
	"testing"
	"time"

	"github.com/ferrybridge/ferry/irc/ircconn"
)

// TestEchoWaitsOfAnOldConnectionTakeNoAnswer: a two-line PM to carol whose
// first line was echoed keeps waiting for its second line's answer after
// the send ended (endedKeep). The connection drops before that answer
// comes, and on the new one the server refuses a PM to carol with 401 and
// echoes the same words sent again as m2. The refusal is the new PM's,
// not the old second line's, which can no longer be answered: the PM
// sent again must take id:m2, and the refused one must not.
func TestEchoWaitsOfAnOldConnectionTakeNoAnswer(t *testing.T) {
	oldAddr := scriptedServer(t, "echo-message message-tags", func(line string, peer *scriptedPeer) {
		if line == "PRIVMSG carol one" || line == "PRIVMSG carol :one" {
			peer.write("@msgid=m0 :alice!alice@host PRIVMSG carol :one")
		} // "two" is lost with the connection
	})
	sent := make(chan string, 4)
	answer := firstRefusedThenEchoed("carol", []string{":srv 401 alice carol :No such nick/channel"}, sent)
	newAddr := scriptedServer(t, "echo-message message-tags", func(line string, peer *scriptedPeer) { answer(line, peer) })
	cl, _, oldConn := clientOn(t, oldAddr)
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	two := textTo("test/carol", "one\ntwo")
	two.Portal.Receiver = cl.loginID
	res, err := cl.Send(ctx, two)
	if err != nil {
		t.Fatalf("the two-line Send: %v", err)
	}
	if res.ID != "id:m0" {
		t.Fatalf("the two-line PM took the ID %q, want id:m0", res.ID)
	}

	oldConn.Close("bye")
	newConn, err := ircconn.Dial(ctx, ircconn.Config{Addr: newAddr, Nick: "alice", Caps: wantedCaps, Handler: cl.handle, Unlimited: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { newConn.Close("bye") })
	cl.publish(newConn)

	pm := textTo("test/carol", "hello")
	pm.Portal.Receiver = cl.loginID
	sendWhileFirstWaits(t, ctx, cl, pm, sent, "PM")
}
