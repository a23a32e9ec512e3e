package irc

import (
	"strings"
	"testing"

	"github.com/ferrybridge/ferry/bridge/network"
)

// TestServerWordsInTheStateAreLiteral: the state message of a connection
// the server ended carries the server's ERROR reason, and the core shows
// a state message as Markdown whose code spans are meant. IRC nicks hold
// backticks, so a reason naming two ("(a`b@h) [Killed (c`d)]") made a
// code span of the text between them, the backticks gone. The server's
// words are escaped (network.Literal); the text is kept.
func TestServerWordsInTheStateAreLiteral(t *testing.T) {
	s := newLoopServer(t, "register")
	cl := loopClient(t, s)
	host := cl.c.host.(*stateHost)
	cl.Connect(t.Context())
	t.Cleanup(cl.Disconnect)
	nc := accepted(t, s)
	waitFor(t, "the connection", func() bool { return cl.currentConn() != nil })
	const reason = `Closing link: (a` + "`" + `b@h) [Killed (c` + "`" + `d \o/)]`
	if _, err := nc.Write([]byte("ERROR :" + reason + "\r\n")); err != nil {
		t.Fatal(err)
	}
	nc.Close() // as servers do after an ERROR
	var said string
	waitFor(t, "the state after the ERROR", func() bool {
		host.mu.Lock()
		defer host.mu.Unlock()
		for _, st := range host.states {
			if st.Kind == network.StateTransientDisconnect {
				said = st.Message
				return true
			}
		}
		return false
	})
	if want := network.Literal(reason); !strings.Contains(said, want) {
		t.Errorf("state message %q; want the server's words as %q", said, want)
	}
}
