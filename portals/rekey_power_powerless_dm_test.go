package portals

import (
	"context"
	"testing"

	"maunium.net/go/mautrix/event"
)

// A direct chat without the bot changes ghost (a move to a new remote ID
// and the resync after it); the old ghost hands its power over in one
// power-level change of its own, and a refused change leaves the chat
// with the old ghost, tried again at each resync. Where the old ghost can
// give nothing, the change must go on without it, not stay refused for
// good: an old ghost whose level does not let it change power levels at
// all (the user's client set it so), and one that may but whose entry's
// removal would raise it to a room default above its own level (which
// the homeserver refuses a user doing to itself).
func TestRekeyedDirectChatChangesGhostWhereTheOldOneHasNoPowerToHandOver(t *testing.T) {
	for _, tc := range []struct {
		name string
		// ghostLevel is the level the old ghost lowers itself to from
		// the scene's (the user's own, 100), as only it may; set then
		// changes the room's power levels as the user.
		ghostLevel int
		set        func(*event.PowerLevelsEventContent)
	}{
		{name: "old ghost may not change power levels", ghostLevel: 50, set: func(*event.PowerLevelsEventContent) {}},
		{name: "room default above the old ghost", ghostLevel: 10, set: func(levels *event.PowerLevelsEventContent) {
			levels.UsersDefault = 50
			levels.Events[event.StatePowerLevels.Type] = 10
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dc := newBotlessDirectChat(t)
			ctx := context.Background()
			levels := powerLevelsOf(t, dc.alice.Client, dc.room)
			levels.SetUserLevel(dc.bob.MXID, tc.ghostLevel)
			if _, err := dc.bob.Intent().SendStateEvent(ctx, dc.room, event.StatePowerLevels, "", levels); err != nil {
				t.Fatal(err)
			}
			if levels.Events == nil {
				levels.Events = map[string]int{}
			}
			tc.set(levels)
			if _, err := dc.alice.SendStateEvent(ctx, dc.room, event.StatePowerLevels, "", levels); err != nil {
				t.Fatal(err)
			}
			// Ferry's store has the change as heard from the homeserver
			// (the scene has no transactions).
			if err := dc.p.m.matrix.AS.StateStore.SetPowerLevels(ctx, dc.room, powerLevelsOf(t, dc.alice.Client, dc.room)); err != nil {
				t.Fatal(err)
			}

			// Fails the test unless the chat's ghost is the new one.
			newGhost := rekeyToNewGhost(t, dc)

			got := powerLevelsOf(t, dc.alice.Client, dc.room)
			if level, want := got.GetUserLevel(newGhost), levels.UsersDefault; level != want {
				t.Errorf("the new ghost's power level is %d, want the room's default %d", level, want)
			}
		})
	}
}
