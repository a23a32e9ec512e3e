package bridge_test

import (
	"testing"
	"time"

	"maunium.net/go/mautrix/event"

	"github.com/ferrybridge/ferry/bridge/network"
	"github.com/ferrybridge/ferry/internal/testnet"
)

// TestOtherGhostJoinsADMTheUserOpened: in a direct chat alice opened
// with carol's ghost, the bot is no member, and only it invited ghosts
// that were to join: when the network had to send there as another
// ghost (an IRC peer whose ghost changed with a CASEMAPPING change),
// every message failed with M_FORBIDDEN. Carol's ghost, a member with
// the creator's power, now invites the other ghost, and its message
// reaches the room.
func TestOtherGhostJoinsADMTheUserOpened(t *testing.T) {
	sc := newScene(t, false)
	carol := sc.h.Bridge.Ghosts.MXID(network.GhostKey{Network: testnet.ID, User: "carol"})
	room := sc.alice.CreateDM(t, carol)
	sc.alice.WaitForMembership(t, room, carol, event.MembershipJoin, waitLong)
	dm := network.PortalKey{Network: testnet.ID, Chat: "dm-carol", Receiver: "alice"}
	if err := sc.cl.Handle(sc.h.Context(time.Minute), textMessage(dm, "c1", "carol", time.Now(), "from carol")); err != nil {
		t.Fatal(err)
	}
	sc.alice.WaitForEvent(t, room, waitLong, bodyIs(carol, "from carol"))

	carol2 := sc.h.Bridge.Ghosts.MXID(network.GhostKey{Network: testnet.ID, User: "Carol2"})
	if err := sc.cl.Handle(sc.h.Context(time.Minute), textMessage(dm, "c2", "Carol2", time.Now(), "from the other ghost")); err != nil {
		t.Fatalf("the other ghost's message was not bridged: %v", err)
	}
	sc.alice.WaitForEvent(t, room, waitLong, bodyIs(carol2, "from the other ghost"))
}
