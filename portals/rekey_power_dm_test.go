package portals

import (
	"context"
	"slices"
	"testing"
	"time"

	"maunium.net/go/mautrix"
	"maunium.net/go/mautrix/event"
	"maunium.net/go/mautrix/id"

	"github.com/ferrybridge/ferry/bridge/network"
)

// A direct chat's other person gets a new ghost (a move to a new remote
// ID and the resync after it): the new ghost takes the old one's power,
// and the old one, gone from the room, must not keep an entry in the
// power levels, where it would outlive it and keep a departed user's
// power. Both in one power-level change: without the bot the old ghost
// makes it (it is the one with the power the user's client gave), with
// the bot the bot does.
func TestRekeyedDirectChatMovesTheOldGhostsPowerInOneChange(t *testing.T) {
	withAndWithoutBot(t, func(t *testing.T, dc *botlessDirectChat, withBot bool) {
		if withBot {
			// The network gave bob a level (an admin of a chat): the
			// bot set it.
			setLevelsAsBot(t, dc, map[id.UserID]int{dc.bob.MXID: 50})
		}
		oldLevel := powerLevelsOf(t, dc.alice.Client, dc.room).GetUserLevel(dc.bob.MXID)
		if oldLevel == 0 {
			t.Fatal("the scene's old ghost has no power level")
		}
		before := powerLevelsEvent(t, dc.alice.Client, dc.room)

		newGhost := rekeyToNewGhost(t, dc)

		wantPowerHandedOver(t, dc, newGhost, oldLevel, before)
	})
}

// The user changes the room's power levels (raises carol to 50) a
// moment before the direct chat changes ghost, and Ferry's state store
// has not heard of it yet: its event comes in a later transaction. The
// hand-over sends the room's whole power levels, and built on the
// store's, it undid the user's change.
func TestRekeyedDirectChatKeepsAPowerChangeMadeJustBefore(t *testing.T) {
	withAndWithoutBot(t, func(t *testing.T, dc *botlessDirectChat, withBot bool) {
		ctx := context.Background()
		if withBot {
			// bob has the level the network gave him, and alice the
			// power to change levels.
			setLevelsAsBot(t, dc, map[id.UserID]int{dc.bob.MXID: 50, dc.alice.UserID: 100})
		}
		// Ferry's store has the room as heard from the homeserver
		// before the user's change (the scene has no transactions).
		heard := powerLevelsOf(t, dc.alice.Client, dc.room)
		if err := dc.p.m.matrix.AS.StateStore.SetPowerLevels(ctx, dc.room, heard); err != nil {
			t.Fatal(err)
		}
		oldLevel := heard.GetUserLevel(dc.bob.MXID)
		carol := dc.aliceRaisesCarol(t)
		before := powerLevelsEvent(t, dc.alice.Client, dc.room)

		newGhost := rekeyToNewGhost(t, dc)

		wantCarolRaised(t, wantPowerHandedOver(t, dc, newGhost, oldLevel, before), carol, "once the chat changed ghost")
	})
}

// wantPowerHandedOver checks that dc's new ghost has the old ghost's
// level oldLevel, that the old ghost has no entry left, and that it took
// one power-level change since the room's power levels were before's
// (powerLevelsEvent); it returns the room's power levels.
//
// It waits for the change that lists the new ghost, the hand-over, to
// reach alice's client, so that the room's history it then counts holds
// it: Dendrite's history follows its state a moment behind, and counted
// when the state showed the hand-over, it could still lack it. Her sync
// and the history are read from one store, so an event her sync had is
// in the history.
func wantPowerHandedOver(t *testing.T, dc *botlessDirectChat, newGhost id.UserID, oldLevel int, before id.EventID) *event.PowerLevelsEventContent {
	t.Helper()
	handOver := dc.alice.WaitForEvent(t, dc.room, 30*time.Second, func(evt *event.Event) bool {
		if evt.Type != event.StatePowerLevels {
			return false
		}
		_, listed := evt.Content.AsPowerLevels().Users[newGhost]
		return listed
	})
	levels := powerLevelsOf(t, dc.alice.Client, dc.room)
	if got := levels.GetUserLevel(newGhost); got != oldLevel {
		t.Errorf("the new ghost's power level is %d, want the old ghost's %d", got, oldLevel)
	}
	if level, listed := levels.Users[dc.bob.MXID]; listed {
		t.Errorf("the old ghost %s, gone from the room, still has the power level %d", dc.bob.MXID, level)
	}
	changes := powerLevelChangesSince(t, dc.alice.Client, dc.room, before)
	if !slices.Contains(changes, handOver.ID) {
		t.Fatalf("the room's history lacks the hand-over %s that alice's sync had", handOver.ID)
	}
	if len(changes) != 1 {
		t.Errorf("the ghost's change made %d power-level changes, want 1", len(changes))
	}
	return levels
}

// rekeyToNewGhost moves dc's portal to a new key, and has the resync
// after it name bob-pn as the other user; it returns bob-pn's ghost.
func rekeyToNewGhost(t *testing.T, dc *botlessDirectChat) id.UserID {
	t.Helper()
	_, newGhost := rekeyAndResync(t, dc)
	p := dc.p
	var other network.UserID
	if err := p.m.Do(context.Background(), p, func(context.Context) error { other = p.OtherUser; return nil }); err != nil || other != "bob-pn" {
		t.Fatalf("the portal's other user after the move is %q (%v), want bob-pn", other, err)
	}
	return newGhost
}

// powerLevelsOf is room's power levels as cli reads them.
func powerLevelsOf(t *testing.T, cli *mautrix.Client, room id.RoomID) *event.PowerLevelsEventContent {
	t.Helper()
	var levels event.PowerLevelsEventContent
	if err := cli.StateEvent(context.Background(), room, event.StatePowerLevels, "", &levels); err != nil {
		t.Fatal(err)
	}
	return &levels
}

// powerLevelsEvent is the event that set room's power levels as they
// stand, as cli reads the room's state (which, unlike its history, is
// never behind).
func powerLevelsEvent(t *testing.T, cli *mautrix.Client, room id.RoomID) id.EventID {
	t.Helper()
	evt, err := cli.FullStateEvent(context.Background(), room, event.StatePowerLevels, "")
	if err != nil {
		t.Fatal(err)
	}
	return evt.ID
}

// powerLevelChangesSince is the power-level events in room's timeline,
// as cli sees it, after the one since, newest first.
func powerLevelChangesSince(t *testing.T, cli *mautrix.Client, room id.RoomID, since id.EventID) []id.EventID {
	t.Helper()
	var changes []id.EventID
	for _, evt := range roomHistory(t, cli, room) {
		if evt.ID == since {
			return changes
		}
		if evt.Type == event.StatePowerLevels {
			changes = append(changes, evt.ID)
		}
	}
	t.Fatalf("the room's history lacks the power levels %s to count changes from", since)
	return nil
}

// roomHistory is room's last 200 events as cli reads them, newest first.
func roomHistory(t *testing.T, cli *mautrix.Client, room id.RoomID) []*event.Event {
	t.Helper()
	resp, err := cli.Messages(context.Background(), room, "", "", mautrix.DirectionBackward, nil, 200)
	if err != nil {
		t.Fatal(err)
	}
	return resp.Chunk
}
