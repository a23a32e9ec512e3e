package irc

import (
	"testing"

	"github.com/ferrybridge/ferry/irc/ircconn"
)

// TestCaseMappingChangeKeepsPMGhostUntilNewGeneration: after rfc1459 ->
// ascii, Bob[ (ID "bob{" before, "bob[" now) keeps speaking in his PM
// as the ghost of his old ID; bob, whose ID did not move, as his own. When
// someone else takes the nick Bob[, the new generation's room gets the
// new ID's ghost.
func TestCaseMappingChangeKeepsPMGhostUntilNewGeneration(t *testing.T) {
	cl, _ := channelClient(t)
	cl.c.netState["test"] = &netState{caseMapping: ircconn.CaseMappingASCII}
	cl.meta.PMs = map[string]pmPeer{
		"bob{": {Ident: "h:b@host", Nick: "Bob["},
		"bob":  {Ident: "h:o@host", Nick: "bob"},
	}
	cl.lock.Lock()
	cl.refoldPMsLocked(ircconn.CaseMappingRFC1459, ircconn.CaseMappingASCII)
	cl.lock.Unlock()
	if got := cl.pmSender("Bob["); got != "test/bob{" {
		t.Errorf("Bob['s PM sender after the change: %s, want test/bob{", got)
	}
	if got := cl.pmSender("bob"); got != "test/bob" {
		t.Errorf("bob's PM sender after the change: %s, want test/bob", got)
	}
	info, err := cl.ChatInfo(t.Context(), "test/bob[")
	if err != nil || info.OtherUser != "test/bob{" {
		t.Errorf("ChatInfo of Bob['s PM: %+v, %v; want the other user test/bob{", info, err)
	}

	key, ok := cl.pmPortal(line(t, ":Bob[!x@elsewhere PRIVMSG me :hi"))
	if !ok || key.Chat != "test/bob[/1" {
		t.Fatalf("the PM of someone else as Bob[: %v %v", key, ok)
	}
	if got := cl.pmSender("Bob["); got != "test/bob[" {
		t.Errorf("the new Bob['s PM sender: %s, want test/bob[", got)
	}
}
