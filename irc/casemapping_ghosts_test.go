package irc

import (
	"context"
	"strings"
	"testing"
	"time"

	"maunium.net/go/mautrix/event"

	"github.com/ferrybridge/ferry/bridge/network"
	"github.com/ferrybridge/ferry/irc/ircconn"
)

// TestCaseMappingChangeOldGhostsNameTheirNick: Bob[ spoke in #c while the
// network folded rfc1459, so his ghost and the sender of his lines are
// user "test/bob{". The network now folds ascii, under which "bob{" is
// another nick. Answering one of his old lines, or a pill of his old
// ghost, must still name Bob[ on IRC (seen in #c's NAMES), not bob{,
// who is someone else (or nobody) and would be highlighted instead. An
// ID that names a nick seen under the new folding keeps naming it.
func TestCaseMappingChangeOldGhostsNameTheirNick(t *testing.T) {
	lines := make(chan string, 10)
	addr := scriptedServerISupport(t, "", "CHANTYPES=# CASEMAPPING=ascii", func(line string, peer *scriptedPeer) {
		switch {
		case strings.HasPrefix(line, "JOIN #c"):
			peer.write(":alice!a@host JOIN #c")
			peer.write(":srv 353 alice = #c :alice Bob[ carol{")
			peer.write(":srv 366 alice #c :End of /NAMES list.")
		case strings.HasPrefix(line, "PRIVMSG "):
			lines <- line
		}
	})
	cl, _, conn := clientOn(t, addr)
	cl.c.netState["test"] = &netState{caseMapping: ircconn.CaseMappingRFC1459} // as LoadLogin seeds it
	cl.meta.CaseMapping = string(ircconn.CaseMappingRFC1459)
	cl.meta.Channels = map[string]savedChannel{"#c": {Name: "#c"}}
	cl.onDisconnected(conn)
	cl.onConnected(conn)
	waitFor(t, "#c's NAMES", func() bool {
		cl.lock.Lock()
		defer cl.lock.Unlock()
		ch := cl.channels["#c"]
		return ch != nil && ch.synced
	})

	for _, tc := range []struct {
		name string
		user network.UserID // as minted before or after the change
		want string
	}{
		{"Bob[ before the change", "test/bob{", "Bob["},
		{"carol{ after the change", "test/carol{", "carol{"},
		{"unseen", "test/dave{", "dave{"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			msg := textTo("test/#c", "answer")
			msg.ReplyTo = &network.ReplyTarget{MessageRef: network.MessageRef{ID: "h:x"}, Sender: tc.user}
			if _, err := cl.Send(context.Background(), msg); err != nil {
				t.Fatal(err)
			}
			if got := sentLine(t, lines); got != "PRIVMSG #c :"+tc.want+": answer" {
				t.Errorf("the reply went out as %q", got)
			}
			ghost := "@irc_" + cl.c.GhostLocalpart(tc.user) + ":ex.org"
			msg = textTo("test/#c", "hi")
			msg.Content = &event.MessageEventContent{MsgType: event.MsgText, Body: "x: hi", Format: event.FormatHTML,
				FormattedBody: `<a href="https://matrix.to/#/` + ghost + `">x</a>: hi`}
			if _, err := cl.Send(context.Background(), msg); err != nil {
				t.Fatal(err)
			}
			if got := sentLine(t, lines); got != "PRIVMSG #c :"+tc.want+": hi" {
				t.Errorf("the pill of %s went out as %q", ghost, got)
			}
		})
	}
}

func sentLine(t *testing.T, lines <-chan string) string {
	t.Helper()
	select {
	case l := <-lines:
		return l
	case <-time.After(10 * time.Second):
		t.Fatal("nothing was sent")
	}
	return ""
}
