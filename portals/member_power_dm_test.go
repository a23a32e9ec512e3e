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
	// Alice may change levels; Ferry's store has the levels the bot set
	// (the scene has no transactions).
	setLevelsAsBot(t, dc, map[id.UserID]int{dc.alice.UserID: 100})
	carol := dc.aliceRaisesCarol(t)

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
	wantCarolRaised(t, got, carol, "once bob's was set")
}

// setLevelsAsBot gives users their levels in dc's room as the bot, in
// one change, recorded in Ferry's store as the bot's changes are.
func setLevelsAsBot(t *testing.T, dc *botlessDirectChat, users map[id.UserID]int) {
	t.Helper()
	ctx := context.Background()
	bot := dc.p.m.matrix.Bot()
	levels, err := bot.PowerLevels(ctx, dc.room)
	if err != nil {
		t.Fatal(err)
	}
	for user, level := range users {
		levels.SetUserLevel(user, level)
	}
	if _, err = bot.SendStateEvent(ctx, dc.room, event.StatePowerLevels, "", levels); err != nil {
		t.Fatal(err)
	}
}

// aliceRaisesCarol has alice raise carol, no member, to 50 in dc's room
// from her client: a change Ferry's store has not heard of (the scene
// has no transactions). It returns carol's ID; the room's state has the
// change from then on (changes are counted from the state's power
// levels, powerLevelsEvent, never from the history, which lags).
func (dc *botlessDirectChat) aliceRaisesCarol(t *testing.T) id.UserID {
	t.Helper()
	carol := id.NewUserID("carol", dc.alice.UserID.Homeserver())
	raised := powerLevelsOf(t, dc.alice.Client, dc.room)
	raised.SetUserLevel(carol, 50)
	if _, err := dc.alice.SendStateEvent(context.Background(), dc.room, event.StatePowerLevels, "", raised); err != nil {
		t.Fatal(err)
	}
	return carol
}

// wantCarolRaised checks that levels give carol the 50 aliceRaisesCarol
// gave her, still so when.
func wantCarolRaised(t *testing.T, levels *event.PowerLevelsEventContent, carol id.UserID, when string) {
	t.Helper()
	if level := levels.GetUserLevel(carol); level != 50 {
		t.Errorf("carol's power level is %d %s, want the 50 alice gave her just before", level, when)
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
