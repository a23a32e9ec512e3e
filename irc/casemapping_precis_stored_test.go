package irc

import (
	"strings"
	"testing"
	"time"

	"github.com/ferrybridge/ferry/bridge/network"
	"github.com/ferrybridge/ferry/irc/ircconn"
)

// TestPRECISTokenSavedBeforeFerryKnewIt: a login on a server announcing
// CASEMAPPING=rfc8265 (Oragono did) saved that token while Ferry took it
// for an unknown mapping and folded as ascii: #CAFÉ was saved under
// "#cafÉ" and its portal keyed so. Now that Ferry folds rfc8265 by
// PRECIS, the same saved token means another folding: the change must be
// seen, the channel rekeyed and its portal moved to "#café", or the
// rejoined channel's lines would open a second room and the saved entry
// never be forgotten.
func TestPRECISTokenSavedBeforeFerryKnewIt(t *testing.T) {
	joins := make(chan string, 10)
	addr := scriptedServerISupport(t, "", "CHANTYPES=# CASEMAPPING=rfc8265", func(line string, peer *scriptedPeer) {
		if rest, ok := strings.CutPrefix(line, "JOIN "); ok {
			joins <- rest
			channel, _, _ := strings.Cut(rest, " ")
			peer.write(":alice!a@host JOIN " + channel)
		}
	})
	cl, host, conn := clientOn(t, addr)
	// As LoadLogin seeds it from the saved token.
	cl.c.netState["test"] = &netState{caseMapping: ircconn.CaseMapping("rfc8265")}
	cl.meta.CaseMapping = "rfc8265"
	cl.meta.Channels = map[string]savedChannel{"#cafÉ": {Name: "#CAFÉ"}}
	oldKey := network.PortalKey{Network: NetworkID, Chat: channelChatID("test", ircconn.CaseMappingASCII, "#CAFÉ")}
	cl.onDisconnected(conn)
	cl.onConnected(conn)

	select {
	case j := <-joins:
		if j != "#CAFÉ" {
			t.Errorf("rejoined %q, want #CAFÉ", j)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the saved channel was not rejoined")
	}
	waitFor(t, "the join to be handled", func() bool { return cl.inChannel("#café") })
	newKey := cl.channelKey("#CAFÉ")
	if newKey.Chat != "test/#café" {
		t.Fatalf("chat ID %s, want test/#café", newKey.Chat)
	}
	cl.lock.Lock()
	_, stale := cl.meta.Channels["#cafÉ"]
	_, refolded := cl.meta.Channels["#café"]
	cl.lock.Unlock()
	if stale || !refolded {
		t.Errorf("saved channel kept under %q (stale %t), want under \"#café\"", "#cafÉ", stale)
	}
	host.lock.Lock()
	moves := host.moves
	host.lock.Unlock()
	if len(moves) != 1 || moves[0] != (portalMove{oldKey, newKey}) {
		t.Errorf("portal moves %+v, want %s to %s", moves, oldKey.Chat, newKey.Chat)
	}
}
