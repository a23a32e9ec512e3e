package bridge_test

import (
	"context"
	"testing"
	"time"

	"maunium.net/go/mautrix/event"

	"github.com/ferrybridge/ferry/bridge/network"
)

// TestStateStoreKeepsTheNewestState: alice (a moderator) changes the
// room's join rule while Ferry's routing of Matrix events is held up
// behind a busy portal; then Ferry (as the bot) changes it again. Once
// everything is routed the state store holds Ferry's newer rule, as the
// room does, not alice's older one applied last. (Power levels would be
// the same case, but only the bot may change them in a portal.)
func TestStateStoreKeepsTheNewestState(t *testing.T) {
	s := newScene(t, false)
	moderator := 50
	s.tn.Chats["chat1"] = &network.ChatInfo{Members: &network.MemberList{Members: []network.Member{
		{User: "alice", IsMe: true, PowerLevel: &moderator},
	}}}
	room := s.openPortal(t, "before")
	ctx := s.h.Context(2 * time.Minute)
	portal, err := s.h.Bridge.Portals.Get(ctx, s.portal)
	if err != nil {
		t.Fatal(err)
	}

	// The portal's goroutine waits on release, and its queue fills up, so
	// that routing alice's next message waits for room in it, and the
	// events after that message wait to be routed.
	release := make(chan struct{})
	released := false
	defer func() {
		if !released {
			close(release)
		}
	}()
	busy := make(chan struct{})
	go func() {
		_ = s.h.Bridge.Portals.Do(ctx, portal, func(context.Context) error {
			close(busy)
			<-release
			return nil
		})
	}()
	<-busy
	for i := 0; i < 300; i++ {
		go func() { _ = s.h.Bridge.Portals.Do(ctx, portal, func(context.Context) error { return nil }) }()
	}
	time.Sleep(time.Second) // for the queue to fill
	s.alice.SendText(t, room, "held up")

	older, err := s.alice.SendStateEvent(ctx, room, event.StateJoinRules, "", &event.JoinRulesEventContent{JoinRule: event.JoinRulePublic})
	if err != nil {
		t.Fatal(err)
	}
	waitStored(t, s.h, older.EventID)
	// Ferry's change, after hers.
	newer, err := s.h.Bridge.Matrix.SendState(ctx, s.h.Bridge.Matrix.Bot(), room, event.StateJoinRules, "", &event.JoinRulesEventContent{JoinRule: event.JoinRuleInvite})
	if err != nil {
		t.Fatal(err)
	}
	s.alice.WaitForEvent(t, room, waitLong, func(evt *event.Event) bool { return evt.ID == newer })
	// Its echo reaches Ferry after hers, and routing is still held up.
	time.Sleep(time.Second)

	released = true
	close(release)
	waitHandled(t, s.h, older.EventID)
	stored, err := s.h.Bridge.AS.StateStore.GetJoinRules(ctx, room)
	if err != nil {
		t.Fatal(err)
	}
	if stored == nil || stored.JoinRule != event.JoinRuleInvite {
		t.Errorf("the state store has the join rule %v; the room's newest (Ferry's) is invite", stored)
	}
}
