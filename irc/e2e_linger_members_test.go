package irc

import (
	"testing"

	"maunium.net/go/mautrix/event"

	"github.com/ferrybridge/ferry/bridge/network"
	"github.com/ferrybridge/ferry/internal/testbed"
)

// TestE2EFerryNickListedBeforeItsQuitLeaves (slow): alice and carol, two
// Ferry logins, share #two. alice disconnects while carol's connection
// is behind (a proxy holds what the server sends it), and a resync of
// #two through carol meanwhile lists "alice", no running login's nick
// now: her ghost joins the room. When carol reads alice's QUIT, the
// ghost must leave, not stay until the next full member list.
func TestE2EFerryNickListedBeforeItsQuitLeaves(t *testing.T) {
	var proxy *holdProxy
	e := startEnvVia(t, testbed.InspIRCdOptions{}, "", func(addr string) string {
		proxy = newHoldProxy(t, addr)
		return proxy.addr
	})
	sc := e.bobAliceAndCarolInTwo(t)
	carol, ccl, room := sc.carol, sc.carolClient, sc.room
	ghost := e.ghost("alice")

	proxy.hold("carol")
	sc.aliceClient.Disconnect()
	// What the core does at a resync without info: ask carol's ChatInfo.
	ccl.queue(&network.ChatResync{Meta: network.Meta{Portal: ccl.channelKey("#two")}})
	carol.WaitForMembership(t, room, ghost, event.MembershipJoin, waitLong)
	proxy.release("carol")
	carol.WaitForMembership(t, room, ghost, event.MembershipLeave, waitLong)
}
