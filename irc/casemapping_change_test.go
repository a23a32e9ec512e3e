package irc

import (
	"context"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"maunium.net/go/mautrix/event"

	"github.com/ferrybridge/ferry/bridge/network"
	"github.com/ferrybridge/ferry/internal/testbed"
	"github.com/ferrybridge/ferry/irc/ircconn"
)

func (h *fakeHost) RekeyPortal(_ context.Context, from, to network.PortalKey) (bool, error) {
	h.lock.Lock()
	defer h.lock.Unlock()
	h.moves = append(h.moves, portalMove{from, to})
	return true, nil
}

// TestCaseMappingChangeRefoldsSavedChannels: the login saved #a[1] (with
// its key) and #plain while the network folded rfc1459 ("#a{1}"); now
// it announces CASEMAPPING=ascii. The rejoin uses the key, the saved
// channel is kept once under its new folding (so a later part forgets it
// for good, not to be rejoined at every connect), and the portal moves
// to the channel's new chat ID; #plain, the same under both, stays put.
func TestCaseMappingChangeRefoldsSavedChannels(t *testing.T) {
	joins := make(chan string, 10)
	addr := scriptedServerISupport(t, "", "CHANTYPES=# CASEMAPPING=ascii", func(line string, peer *scriptedPeer) {
		if rest, ok := strings.CutPrefix(line, "JOIN "); ok {
			joins <- rest
			channel, _, _ := strings.Cut(rest, " ")
			peer.write(":alice!a@host JOIN " + channel)
		}
	})
	cl, host, conn := clientOn(t, addr)
	cl.c.netState["test"] = &netState{caseMapping: ircconn.CaseMappingRFC1459} // as LoadLogin seeds it
	cl.meta.CaseMapping = string(ircconn.CaseMappingRFC1459)
	cl.meta.Channels = map[string]savedChannel{
		"#a{1}":  {Name: "#a[1]", Key: "k"},
		"#plain": {Name: "#plain"},
	}
	oldKey := cl.channelKey("#a[1]")
	cl.onDisconnected(conn)
	cl.onConnected(conn)

	got := map[string]bool{}
	for len(got) < 2 {
		select {
		case j := <-joins:
			got[j] = true
		case <-time.After(10 * time.Second):
			t.Fatalf("the rejoins sent: %v", got)
		}
	}
	if !got["#a[1] k"] || !got["#plain"] {
		t.Errorf("the rejoins sent: %v", got)
	}
	waitFor(t, "the joins to be handled", func() bool { return cl.inChannel("#a[1]") && cl.inChannel("#plain") })
	cl.lock.Lock()
	saved := make(map[string]savedChannel, len(cl.meta.Channels))
	for k, v := range cl.meta.Channels {
		saved[k] = v
	}
	cl.lock.Unlock()
	if len(saved) != 2 || saved["#a[1]"] != (savedChannel{Name: "#a[1]", Key: "k"}) || saved["#plain"].Name != "#plain" {
		t.Errorf("saved channels after the change: %+v", saved)
	}
	newKey := cl.channelKey("#a[1]")
	if oldKey == newKey {
		t.Fatalf("the test's channel has the same chat ID under both casemappings: %s", newKey.Chat)
	}
	host.lock.Lock()
	moves := host.moves
	host.lock.Unlock()
	if len(moves) != 1 || moves[0] != (portalMove{oldKey, newKey}) {
		t.Errorf("portal moves %+v, want %s to %s only", moves, oldKey.Chat, newKey.Chat)
	}

	if err := cl.LeaveChat(context.Background(), newKey); err != nil {
		t.Fatal(err)
	}
	cl.lock.Lock()
	_, still := cl.meta.Channels["#a{1}"]
	_, stillNew := cl.meta.Channels["#a[1]"]
	cl.lock.Unlock()
	if still || stillNew {
		t.Errorf("#a[1] is still saved after leaving it, to be rejoined at every connect")
	}
}

// TestE2ECaseMappingChange (slow): alice is in #a[1] (rfc1459: chat ID
// "#a{1}"); InspIRCd restarts announcing CASEMAPPING=ascii (a proxy
// rewrites its 005). The rejoined channel's lines reach the same room,
// which moved to the new chat ID, not a new one.
func TestE2ECaseMappingChange(t *testing.T) {
	shortBackoff(t)
	e, ascii := startCaseMappingFlipEnv(t)
	bob := e.peer("bob")
	bob.send("JOIN", "#a[1]")
	bob.expect("his JOIN", isCmd("JOIN", "bob"), nil)
	alice, mgmt, cl := e.loggedInAlice()
	room := e.joinChannel(alice, mgmt, "#a[1]")
	alice.WaitForMembership(t, room, e.ghost("bob"), event.MembershipJoin, waitLong)

	ascii.Store(true)
	e.srv.Restart(t)
	waitFor(t, "alice to rejoin #a[1] under ascii", func() bool {
		conn := cl.currentConn()
		return conn != nil && conn.ISupport().CaseMapping == ircconn.CaseMappingASCII && cl.inChannel("#a[1]")
	})
	bob = e.peer("bob")
	bob.send("JOIN", "#a[1]")
	bob.expect("his JOIN", isCmd("JOIN", "bob"), nil)
	bob.send("PRIVMSG", "#a[1]", "after the change")
	alice.WaitForEvent(t, room, waitLong, bodyFrom(e.ghost("bob"), "after the change"))
}

// startCaseMappingFlipEnv starts the test bed with Ferry reaching
// InspIRCd through a proxy that, once ascii is set, rewrites the server's
// CASEMAPPING=rfc1459 to ascii: a network that changed its casemapping
// across a restart.
func startCaseMappingFlipEnv(t *testing.T) (*ircEnv, *atomic.Bool) {
	ascii := new(atomic.Bool)
	e := startEnvVia(t, testbed.InspIRCdOptions{}, "", func(addr string) string {
		p := newHoldProxy(t, addr)
		p.rewrite = func(line string) string {
			if ascii.Load() && strings.Contains(line, " 005 ") {
				return strings.Replace(line, "CASEMAPPING=rfc1459", "CASEMAPPING=ascii", 1)
			}
			return line
		}
		return p.addr
	})
	return e, ascii
}
