package irc

import (
	"testing"

	"github.com/ferrybridge/ferry/bridge/network"
)

// TestTakenFerryNickAccount: a reaction removal from the nick of a Ferry
// login that is off the network counts as the Ferry user's only with an
// account tag naming the account that login authenticates with; from
// someone else's nick it is that person's, as before.
func TestTakenFerryNickAccount(t *testing.T) {
	cl, _ := channelClient(t, "bob")
	away := newClient(cl.c, &NetworkConfig{}, &network.Login{ID: "test/@alice:ex.org", User: "@alice:ex.org", RemoteUser: "test/alice"},
		loginMeta{Network: "test", Nick: "alice", SASLAccount: "AliceAcct"})
	cl.c.clients[away.loginID] = away
	for _, tc := range []struct {
		raw   string
		taken bool
	}{
		{":alice!m@evil TAGMSG #c", true},
		{"@account=mallory :alice!m@evil TAGMSG #c", true},
		{"@account=* :alice!m@evil TAGMSG #c", true},
		{"@account=aliceacct :Alice!a@laptop TAGMSG #c", false},
		{":bob!b@host TAGMSG #c", false},
	} {
		if got := cl.takenFerryNick(line(t, tc.raw)); got != tc.taken {
			t.Errorf("%q: taken %v, want %v", tc.raw, got, tc.taken)
		}
	}
}
