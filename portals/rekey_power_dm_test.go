package portals

import (
	"context"
	"testing"
	"time"

	"maunium.net/go/mautrix"
	"maunium.net/go/mautrix/event"
	"maunium.net/go/mautrix/id"

	"github.com/ferrybridge/ferry/bridge/network"
	"github.com/ferrybridge/ferry/database"
)

// A direct chat's other person gets a new ghost (a move to a new remote
// ID and the resync after it): the new ghost takes the old one's power,
// and the old one, gone from the room, must not keep an entry in the
// power levels, where it would outlive it and keep a departed user's
// power. Both in one power-level change: without the bot the old ghost
// makes it (it is the one with the power the user's client gave), with
// the bot the bot does.
func TestRekeyedDirectChatMovesTheOldGhostsPowerInOneChange(t *testing.T) {
	for _, withBot := range []bool{false, true} {
		name := "without the bot"
		if withBot {
			name = "with the bot"
		}
		t.Run(name, func(t *testing.T) {
			var dc *botlessDirectChat
			if withBot {
				dc = newBotDirectChat(t)
			} else {
				dc = newBotlessDirectChat(t)
			}
			ctx := context.Background()
			if withBot {
				// The network gave bob a level (an admin of a chat): the
				// bot set it.
				levels, err := dc.p.m.matrix.Bot().PowerLevels(ctx, dc.room)
				if err != nil {
					t.Fatal(err)
				}
				levels.SetUserLevel(dc.bob.MXID, 50)
				if _, err = dc.p.m.matrix.Bot().SendStateEvent(ctx, dc.room, event.StatePowerLevels, "", levels); err != nil {
					t.Fatal(err)
				}
			}
			oldLevel := powerLevelsOf(t, dc.alice.Client, dc.room).GetUserLevel(dc.bob.MXID)
			if oldLevel == 0 {
				t.Fatal("the scene's old ghost has no power level")
			}
			before := powerLevelChanges(t, dc.alice.Client, dc.room)

			newGhost := rekeyToNewGhost(t, dc)

			var levels *event.PowerLevelsEventContent
			for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(100 * time.Millisecond) {
				levels = powerLevelsOf(t, dc.alice.Client, dc.room)
				if levels.GetUserLevel(newGhost) >= oldLevel || time.Now().After(deadline) {
					break
				}
			}
			if got := levels.GetUserLevel(newGhost); got != oldLevel {
				t.Errorf("the new ghost's power level is %d, want the old ghost's %d", got, oldLevel)
			}
			if level, listed := levels.Users[dc.bob.MXID]; listed {
				t.Errorf("the old ghost %s, gone from the room, still has the power level %d", dc.bob.MXID, level)
			}
			if changes := powerLevelChanges(t, dc.alice.Client, dc.room) - before; changes != 1 {
				t.Errorf("the ghost's change made %d power-level changes, want 1", changes)
			}
		})
	}
}

// rekeyToNewGhost moves dc's portal to a new key, and has the resync
// after it name bob-pn as the other user; it returns bob-pn's ghost.
func rekeyToNewGhost(t *testing.T, dc *botlessDirectChat) id.UserID {
	t.Helper()
	ctx := context.Background()
	m, p := dc.p.m, dc.p
	// alice is in the chat through her login, as the bridge has it.
	if err := dc.db.Logins.Put(ctx, &database.Login{Network: dc.key.Network, ID: dc.login.ID, UserMXID: dc.alice.UserID}); err != nil {
		t.Fatal(err)
	}
	if err := m.Do(ctx, p, func(ctx context.Context) error { return p.putMember(ctx, dc.alice.UserID, dc.login.ID) }); err != nil {
		t.Fatal(err)
	}
	moved := network.PortalKey{Network: dc.key.Network, Chat: dc.key.Chat + "-pn"}
	if ok, err := m.Rekey(ctx, dc.key, moved); err != nil || !ok {
		t.Fatalf("Rekey: moved %v, %v", ok, err)
	}
	resync := &network.ChatResync{
		Meta: network.Meta{Portal: moved, Timestamp: time.Now()},
		Info: &network.ChatInfo{IsDirect: true, OtherUser: "bob-pn", Members: &network.MemberList{IsFull: true, Members: []network.Member{
			{User: "bob-pn"}, {User: dc.login.RemoteUser, IsMe: true},
		}}},
	}
	wait, err := m.QueueRemote(ctx, dc.login, resync)
	if err != nil {
		t.Fatal(err)
	}
	select {
	case err = <-wait.Outcome():
		if err != nil {
			t.Fatalf("the resync after the move failed: %v", err)
		}
	case <-time.After(time.Minute):
		t.Fatal("the resync after the move was never handled")
	}
	var other network.UserID
	if err = m.Do(ctx, p, func(context.Context) error { other = p.OtherUser; return nil }); err != nil || other != "bob-pn" {
		t.Fatalf("the portal's other user after the move is %q (%v), want bob-pn", other, err)
	}
	return m.ghosts.MXID(network.GhostKey{Network: moved.Network, User: "bob-pn"})
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

// powerLevelChanges counts the power-level events in room's timeline,
// as cli sees it.
func powerLevelChanges(t *testing.T, cli *mautrix.Client, room id.RoomID) int {
	t.Helper()
	resp, err := cli.Messages(context.Background(), room, "", "", mautrix.DirectionBackward, nil, 200)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, evt := range resp.Chunk {
		if evt.Type == event.StatePowerLevels {
			n++
		}
	}
	return n
}
