package bridge_test

import (
	"testing"
	"time"

	"maunium.net/go/mautrix/event"

	"github.com/ferrybridge/ferry/bridge/network"
	"github.com/ferrybridge/ferry/internal/ferrytest"
	"github.com/ferrybridge/ferry/internal/testnet"
	"github.com/ferrybridge/ferry/puppets"
)

// TestOwnStateResentUnchangedDoesNotHideLaterChanges: Ferry sets state
// that the room has already (a portal's join rule is set again at every
// chat info sync). The homeserver makes no new event for it and answers
// with the ID of the event that set it, which Ferry saw before its
// restart: no echo of it is to come. A change alice makes afterwards must
// still reach the state store, rather than be taken for an event older
// than Ferry's and be left out of it for good.
func TestOwnStateResentUnchangedDoesNotHideLaterChanges(t *testing.T) {
	s := &scene{tn: testnet.New(), portal: network.PortalKey{Network: testnet.ID, Chat: "chat1", Receiver: "alice"}}
	s.h = ferrytest.Start(t, ferrytest.Options{}, s.tn)
	s.alice = s.h.User("alice")
	s.mgmt = s.h.ManagementRoom(s.alice)
	s.cl = loginTest(t, s.h, s.tn, s.alice, s.mgmt, "alice")
	s.bob = s.h.Bridge.Ghosts.MXID(network.GhostKey{Network: testnet.ID, User: "bob"})
	moderator := 50
	s.tn.Chats["chat1"] = &network.ChatInfo{Members: &network.MemberList{Members: []network.Member{
		{User: "alice", IsMe: true, PowerLevel: &moderator},
	}}}
	room := s.openPortal(t, "before")
	ctx := s.h.Context(2 * time.Minute)

	invite := &event.JoinRulesEventContent{JoinRule: event.JoinRuleInvite}
	first, err := s.h.Bridge.Matrix.SendState(ctx, s.h.Bridge.Matrix.Bot(), room, event.StateJoinRules, "", invite)
	if err != nil {
		t.Fatal(err)
	}
	s.alice.WaitForEvent(t, room, waitLong, func(evt *event.Event) bool { return evt.ID == first })

	// A restart forgets which events Ferry has seen; the event that set
	// the rule is some time old by then.
	s.h.StopBridge()
	defer func(slack time.Duration) { puppets.OwnStateSlack = slack }(puppets.OwnStateSlack)
	puppets.OwnStateSlack = time.Second
	time.Sleep(3 * time.Second)
	s.h.StartBridge()
	again, err := s.h.Bridge.Matrix.SendState(ctx, s.h.Bridge.Matrix.Bot(), room, event.StateJoinRules, "", invite)
	if err != nil {
		t.Fatal(err)
	}
	if again != first {
		t.Fatalf("the homeserver made a new event (%s) for unchanged state, not the test's premise", again)
	}

	if _, err = s.alice.SendStateEvent(ctx, room, event.StateJoinRules, "", &event.JoinRulesEventContent{JoinRule: event.JoinRulePublic}); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(15 * time.Second)
	for {
		stored, err := s.h.Bridge.AS.StateStore.GetJoinRules(ctx, room)
		if err != nil {
			t.Fatal(err)
		}
		if stored != nil && stored.JoinRule == event.JoinRulePublic {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("15 s after alice made the room public, the state store has the join rule %v", stored)
		}
		time.Sleep(100 * time.Millisecond)
	}
}
