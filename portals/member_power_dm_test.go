package portals

import (
	"context"
	"testing"
	"time"

	"maunium.net/go/mautrix/event"
	"maunium.net/go/mautrix/id"

	"github.com/ferrybridge/ferry/bridge/network"
)

// A member's level from the network (an admin promoted) is set as the
// bot, in a change that carries the room's power levels whole. The user
// changed another level a moment before (raised carol to 50), and
// Ferry's state store has not heard of it yet: its event comes in a later
// transaction. Built on the store's levels, the change undid the user's.
func TestNetworkLevelKeepsAPowerChangeMadeJustBefore(t *testing.T) {
	dc := newBotDirectChat(t)
	ctx := context.Background()
	// Alice may change levels; Ferry's store has the levels the bot set
	// (the scene has no transactions).
	setLevelsAsBot(t, dc, map[id.UserID]int{dc.alice.UserID: 100})
	carol := id.NewUserID("carol", dc.alice.UserID.Homeserver())
	raised := powerLevelsOf(t, dc.alice.Client, dc.room)
	raised.SetUserLevel(carol, 50)
	if _, err := dc.alice.SendStateEvent(ctx, dc.room, event.StatePowerLevels, "", raised); err != nil {
		t.Fatal(err)
	}

	dc.aliceInChat(t)
	admin := 50
	promoted := &network.ChatInfoChange{
		Meta: network.Meta{Portal: dc.key, Timestamp: time.Now()},
		Info: &network.ChatInfo{Members: &network.MemberList{Members: []network.Member{{User: "bob", PowerLevel: &admin}}}},
	}
	if err := bridgeRemote(t, dc.p, dc.login, promoted); err != nil {
		t.Fatalf("the promotion was not bridged: %v", err)
	}

	got := powerLevelsOf(t, dc.alice.Client, dc.room)
	if level := got.GetUserLevel(dc.bob.MXID); level != admin {
		t.Errorf("bob's power level is %d, want the %d the network gave him", level, admin)
	}
	if level := got.GetUserLevel(carol); level != 50 {
		t.Errorf("carol's power level is %d once bob's was set, want the 50 the user gave her just before", level)
	}
}

// bridgeRemote hands evt, come through login, to p and returns its
// outcome once p has bridged it.
func bridgeRemote(t *testing.T, p *Portal, login *network.Login, evt network.Event) error {
	t.Helper()
	wait, err := p.m.QueueRemote(context.Background(), login, evt)
	if err != nil {
		t.Fatal(err)
	}
	select {
	case err = <-wait.Outcome():
		return err
	case <-time.After(time.Minute):
		t.Fatalf("%T was not handled within a minute", evt)
		return nil
	}
}
