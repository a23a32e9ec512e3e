package irc

import (
	"slices"
	"testing"

	"github.com/ferrybridge/ferry/bridge/network"
)

// TestFerryNickListedBeforeItsQuitLeaves: alice, another Ferry login,
// shares #c with me. Her connection ends (or she renames to alice2), so
// her nick only lingers as Ferry's, before her QUIT (or NICK) reaches my
// connection. A member list made meanwhile names "alice" (no running
// login's nick now), and the core joins that ghost. Her QUIT or NICK,
// when it comes, must have the ghost leave, or it stays in the room
// until the next full member list. Her new nick's ghost does not join.
func TestFerryNickListedBeforeItsQuitLeaves(t *testing.T) {
	for _, tc := range []struct {
		name, line, nick string // nick: alice's login's after the line ("" when ended)
	}{
		{"quit", ":alice!a@host QUIT :Quit: bye", ""},
		{"rename", ":alice!a@host NICK alice2", "alice2"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cl, host := channelClient(t, "alice", "bob")
			alice := newClient(cl.c, &NetworkConfig{}, &network.Login{ID: "test/@alice:ex.org", User: "@alice:ex.org"},
				loginMeta{Network: "test", Nick: "alice"})
			alice.nick = tc.nick
			cl.c.clients[alice.loginID] = alice
			cl.c.lingerNick("test", alice.loginID, "alice", nil)

			info, err := cl.ChatInfo(t.Context(), "test/#c")
			if err != nil {
				t.Fatal(err)
			}
			var listed []network.UserID
			for _, m := range info.Members.Members {
				listed = append(listed, m.User)
			}
			if !slices.Contains(listed, "test/alice") {
				t.Fatalf("the member list before alice's %s reached me: %v; the case this test is for does not arise", tc.name, listed)
			}

			cl.handle(line(t, tc.line))
			events := host.take()
			if got := leaves(events); !slices.Contains(got, "test/alice") {
				t.Errorf("alice's %s had no ghost leave; leaves: %v", tc.name, got)
			}
			for _, evt := range events {
				if m, ok := evt.(*network.Membership); ok && m.Action == network.MembershipJoin {
					t.Errorf("a ghost joined at alice's %s: %s", tc.name, m.Target)
				}
			}
		})
	}
}
