package portals

import (
	"context"
	"testing"

	"maunium.net/go/mautrix"
	"maunium.net/go/mautrix/event"
)

// A direct chat the user opened with a ghost, and later invited the bot
// to, at a level the user chose: the old ghost has the user's level (the
// client gave it), above the bot's or equal to it. When the chat changes
// ghost, the bot cannot hand the old ghost's power over (it may not
// raise anyone above itself, nor lower a peer), so the old ghost, acting
// as itself, must: the new ghost gets its level and the old one's entry
// goes, in one power-level change, whatever the bot's level.
func TestRekeyedDirectChatWithTheBotBelowTheOldGhostMovesItsPower(t *testing.T) {
	for _, tc := range []struct {
		name string
		// botLevel is the bot's level; powerLevelsLevel, where set, the
		// level needed to change power levels.
		botLevel, powerLevelsLevel int
	}{
		{name: "bot may not change power levels", botLevel: 0},
		{name: "bot may change power levels below the old ghost", botLevel: 50, powerLevelsLevel: 50},
		{name: "bot at the old ghost's level", botLevel: 100},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dc := newBotlessDirectChat(t)
			ctx := context.Background()
			bot := dc.p.m.matrix.Bot()
			levels := powerLevelsOf(t, dc.alice.Client, dc.room)
			levels.SetUserLevel(bot.UserID, tc.botLevel)
			if tc.powerLevelsLevel != 0 {
				if levels.Events == nil {
					levels.Events = map[string]int{}
				}
				levels.Events[event.StatePowerLevels.Type] = tc.powerLevelsLevel
			}
			if _, err := dc.alice.SendStateEvent(ctx, dc.room, event.StatePowerLevels, "", levels); err != nil {
				t.Fatal(err)
			}
			if _, err := dc.alice.InviteUser(ctx, dc.room, &mautrix.ReqInviteUser{UserID: bot.UserID}); err != nil {
				t.Fatal(err)
			}
			if err := bot.EnsureJoined(ctx, dc.room); err != nil {
				t.Fatal(err)
			}
			// Ferry's store has the room as heard from the homeserver
			// (the scene has no transactions).
			levels = powerLevelsOf(t, dc.alice.Client, dc.room)
			if err := dc.p.m.matrix.AS.StateStore.SetPowerLevels(ctx, dc.room, levels); err != nil {
				t.Fatal(err)
			}
			if dc.p.botOutside(ctx) {
				t.Fatal("the scene's bot is not in the direct chat")
			}
			oldLevel := levels.GetUserLevel(dc.bob.MXID)
			if oldLevel < tc.botLevel || oldLevel < levels.GetEventLevel(event.StatePowerLevels) {
				t.Fatalf("the scene's old ghost has the level %d; want one at least the bot's %d that may change power levels", oldLevel, tc.botLevel)
			}
			before := powerLevelsEvent(t, dc.alice.Client, dc.room)

			newGhost := rekeyToNewGhost(t, dc)

			got := wantPowerHandedOver(t, dc, newGhost, oldLevel, before)
			if level := got.GetUserLevel(bot.UserID); level != tc.botLevel {
				t.Errorf("the bot's power level is %d, want the %d the user gave it", level, tc.botLevel)
			}
		})
	}
}
