package irc

import (
	"strings"
	"testing"
	"unicode/utf8"

	"maunium.net/go/mautrix/event"

	"github.com/ferrybridge/ferry/internal/testbed"
)

// TestE2ELineLen (slow): InspIRCd with <limits maxline="1024"> announces
// LINELEN=1024. A long Matrix message goes out in pieces that use it:
// each relayed to bob in at most 1024 bytes, some beyond 512, none cut
// inside a UTF-8 sequence, and together the whole text.
func TestE2ELineLen(t *testing.T) {
	e := startEnv(t, testbed.InspIRCdOptions{ExtraConfig: `<limits maxline="1024">`})
	bob := e.peer("bob")
	bob.send("JOIN", "#ferry")
	bob.expect("his JOIN", isCmd("JOIN", "bob"), nil)
	alice, mgmt, cl := e.loggedInAlice()
	room := e.joinChannel(alice, mgmt, "#ferry")
	alice.WaitForMembership(t, room, e.ghost("bob"), event.MembershipJoin, waitLong)
	if n := cl.currentConn().ISupport().LineLen; n != 1024 {
		t.Fatalf("InspIRCd announced LINELEN %d", n)
	}

	long := strings.TrimSpace(strings.Repeat("héllo wörld 漢字かな 👍🏽 ", 120))
	alice.SendText(t, room, long)
	var joined strings.Builder
	longest := 0
	for joined.Len() < len(long) {
		m := bob.expect("a piece of the long message", isCmd("PRIVMSG", "alice"), nil)
		n := len(":" + m.Prefix.String() + " PRIVMSG " + m.Param(0) + " :" + m.Param(1) + "\r\n")
		if n > 1024 {
			t.Errorf("a piece is %d bytes on the wire", n)
		}
		if !utf8.ValidString(m.Param(1)) {
			t.Errorf("a piece was cut inside a UTF-8 sequence: %q", m.Param(1))
		}
		longest = max(longest, n)
		joined.WriteString(m.Param(1))
	}
	if joined.String() != long {
		t.Errorf("the long message arrived as %q", joined.String())
	}
	if longest <= 512 {
		t.Errorf("the longest piece took %d bytes on the wire, split as for 512", longest)
	}
}
