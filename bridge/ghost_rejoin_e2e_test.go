package bridge_test

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"maunium.net/go/mautrix"
	"maunium.net/go/mautrix/event"
	"maunium.net/go/mautrix/id"

	"github.com/ferrybridge/ferry/bridge/config"
	"github.com/ferrybridge/ferry/bridge/network"
	"github.com/ferrybridge/ferry/internal/ferrytest"
	"github.com/ferrybridge/ferry/internal/testnet"
)

// gatedScene is newScene with the appservice transactions passing a
// txnGate, and sends pipelined or not.
func gatedScene(t *testing.T, pipelined bool) (*scene, *txnGate) {
	t.Helper()
	var gate *txnGate
	s := &scene{tn: testnet.New(), portal: network.PortalKey{Network: testnet.ID, Chat: "chat1", Receiver: "alice"}}
	s.h = ferrytest.Start(t, ferrytest.Options{Configure: func(cfg *config.Config) {
		var via string
		gate, via = newTxnGate(t, cfg.AppService.Address)
		cfg.AppService.Address = via
		cfg.Homeserver.PipelineSends = pipelined
	}}, s.tn)
	s.alice = s.h.User("alice")
	s.mgmt = s.h.ManagementRoom(s.alice)
	s.cl = loginTest(t, s.h, s.tn, s.alice, s.mgmt, "alice")
	s.bob = s.h.Bridge.Ghosts.MXID(network.GhostKey{Network: testnet.ID, User: "bob"})
	return s, gate
}

// gatedPortal is gatedScene with the portal opened, alice a moderator
// of it beside bob's ghost.
func gatedPortal(t *testing.T, pipelined bool) (*scene, *txnGate, id.RoomID) {
	t.Helper()
	s, gate := gatedScene(t, pipelined)
	moderator := 50
	s.tn.Chats["chat1"] = &network.ChatInfo{Members: &network.MemberList{Members: []network.Member{
		{User: "alice", IsMe: true, PowerLevel: &moderator},
	}}}
	return s, gate, s.openPortal(t, "before")
}

// outBehindFerrysBack has alice take user out of room (kick or ban)
// while the event is kept from Ferry: its state store still has user
// joined. The held transaction is let through when the test ends.
func outBehindFerrysBack(t *testing.T, s *scene, gate *txnGate, room id.RoomID, user id.UserID, ban bool) {
	t.Helper()
	ctx := s.h.Context(time.Minute)
	gate.close()
	t.Cleanup(gate.open)
	var err error
	want := event.MembershipLeave
	if ban {
		_, err = s.alice.BanUser(ctx, room, &mautrix.ReqBanUser{UserID: user, Reason: "behind Ferry's back"})
		want = event.MembershipBan
	} else {
		_, err = s.alice.KickUser(ctx, room, &mautrix.ReqKickUser{UserID: user, Reason: "behind Ferry's back"})
	}
	if err != nil {
		t.Fatal(err)
	}
	out := s.alice.WaitForMembership(t, room, user, want, waitLong)
	gate.waitFor(t, out.ID.String())
	if !s.h.Bridge.AS.StateStore.IsInRoom(ctx, room, user) {
		t.Fatalf("the state store already knows %s is out; the test needs it not to", user)
	}
}

// TestKickedGhostIsJoinedAgainToSend: bob's ghost was kicked from the
// portal, and Ferry's state store did not learn of it (here: the kick is
// still on its way). Every message from bob failed with M_FORBIDDEN, for
// good: nothing joined a ghost the store had as joined. Ferry now joins
// the ghost again when its send is refused so, and sends once more;
// pipelined or not.
func TestKickedGhostIsJoinedAgainToSend(t *testing.T) {
	for _, pipelined := range []bool{true, false} {
		t.Run(fmt.Sprintf("pipelined=%v", pipelined), func(t *testing.T) {
			kickedGhostSends(t, pipelined)
		})
	}
}

func kickedGhostSends(t *testing.T, pipelined bool) {
	s, gate, room := gatedPortal(t, pipelined)
	outBehindFerrysBack(t, s, gate, room, s.bob, false)

	if err := s.cl.Handle(s.h.Context(time.Minute), textMessage(s.portal, "m1", "bob", time.Now(), "after the kick")); err != nil {
		t.Fatalf("bob's message after his ghost's kick was not bridged: %v", err)
	}
	s.alice.WaitForEvent(t, room, waitLong, bodyIs(s.bob, "after the kick"))
}

// TestKickedGhostIsJoinedAgainInADMTheUserOpened: as above, in a direct
// chat alice opened with carol's ghost, where the bot is no member: the
// other ghost the network sends as is invited back by carol's.
func TestKickedGhostIsJoinedAgainInADMTheUserOpened(t *testing.T) {
	s, gate := gatedScene(t, true)
	carol := s.h.Bridge.Ghosts.MXID(network.GhostKey{Network: testnet.ID, User: "carol"})
	carol2 := s.h.Bridge.Ghosts.MXID(network.GhostKey{Network: testnet.ID, User: "Carol2"})
	room := s.alice.CreateDM(t, carol)
	s.alice.WaitForMembership(t, room, carol, event.MembershipJoin, waitLong)
	dm := network.PortalKey{Network: testnet.ID, Chat: "dm-carol", Receiver: "alice"}
	if err := s.cl.Handle(s.h.Context(time.Minute), textMessage(dm, "c1", "Carol2", time.Now(), "first")); err != nil {
		t.Fatal(err)
	}
	s.alice.WaitForEvent(t, room, waitLong, bodyIs(carol2, "first"))
	outBehindFerrysBack(t, s, gate, room, carol2, false)

	if err := s.cl.Handle(s.h.Context(time.Minute), textMessage(dm, "c2", "Carol2", time.Now(), "after the kick")); err != nil {
		t.Fatalf("the message after the ghost's kick was not bridged: %v", err)
	}
	s.alice.WaitForEvent(t, room, waitLong, bodyIs(carol2, "after the kick"))
}

// TestBannedGhostsSendFailsOnce: a ghost banned from the room cannot be
// joined again; its message fails with the send's M_FORBIDDEN, at once,
// and is not tried without end.
func TestBannedGhostsSendFailsOnce(t *testing.T) {
	s, gate, room := gatedPortal(t, true)
	outBehindFerrysBack(t, s, gate, room, s.bob, true)

	start := time.Now()
	err := s.cl.Handle(s.h.Context(time.Minute), textMessage(s.portal, "m1", "bob", time.Now(), "after the ban"))
	if err == nil {
		t.Fatal("a banned ghost's message was reported bridged")
	}
	if !errors.Is(err, mautrix.MForbidden) {
		t.Errorf("a banned ghost's message failed with %v; want the send's M_FORBIDDEN", err)
	}
	if took := time.Since(start); took > 20*time.Second {
		t.Errorf("the banned ghost's message took %s to fail", took)
	}
}
