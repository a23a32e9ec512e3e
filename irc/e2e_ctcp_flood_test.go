package irc

import (
	"strconv"
	"strings"
	"testing"
	"time"

	"gopkg.in/irc.v4"

	"github.com/ferrybridge/ferry/internal/testbed"
)

// TestE2ECTCPFloodGetsFewReplies (slow): bob floods alice's login with
// CTCP VERSION and PING requests. Every reply was a line on her
// connection, queued with her own messages and taking their flood-control
// budget, so anyone could push her messages back at will. Only a few are
// answered now; her own messages go out as usual: the channel line and
// the PM to bob she sends after the flood reach IRC with no more replies
// ahead of them than the few allowed.
func TestE2ECTCPFloodGetsFewReplies(t *testing.T) {
	ctcpRefill.setForTest(t, time.Hour) // no reply earned back during the test
	e := startEnv(t, testbed.InspIRCdOptions{})
	alice, mgmt, _ := e.loggedInAlice()
	bob := e.peer("bob")
	bob.send("JOIN", "#ctcp")
	bob.expect("his JOIN", isCmd("JOIN", "bob"), nil)
	room := e.joinChannel(alice, mgmt, "#ctcp")
	bob.expect("alice's JOIN", isCmd("JOIN", "alice"), nil)

	for i := range 30 {
		if i%3 == 0 {
			bob.send("PRIVMSG", "alice", "\x01PING "+strconv.Itoa(i)+"\x01")
		} else {
			bob.send("PRIVMSG", "alice", "\x01VERSION\x01")
		}
	}
	// Bridged once her login has read the whole flood before it.
	bob.send("PRIVMSG", "alice", "psst")
	dm := portalInvite(t, alice, mgmt, room)
	alice.Join(t, dm.String())
	alice.WaitForEvent(t, dm, waitLong, bodyFrom(e.ghost("bob"), "psst"))

	alice.SendText(t, room, "hello channel")
	alice.SendText(t, dm, "bye bob")
	replies, beforeHello := 0, -1
	// Her PM to bob waits behind any reply still queued for him.
	bob.expect("alice's PM", func(m *irc.Message) bool {
		return isCmd("PRIVMSG", "alice")(m) && m.Param(1) == "bye bob"
	}, func(m *irc.Message) {
		switch {
		case isCmd("NOTICE", "alice")(m) && strings.HasPrefix(m.Param(1), "\x01"):
			replies++
		case isCmd("PRIVMSG", "alice")(m) && m.Param(1) == "hello channel":
			beforeHello = replies
		}
	})
	if replies != ctcpBurst {
		t.Errorf("%d CTCP replies to a flood of 30 requests; want %d", replies, ctcpBurst)
	}
	if beforeHello < 0 {
		t.Error("alice's channel line did not reach IRC before her later PM")
	} else if beforeHello > ctcpBurst {
		t.Errorf("%d CTCP replies went out ahead of alice's channel line", beforeHello)
	}
}
