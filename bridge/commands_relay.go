package bridge

import (
	"context"
	"fmt"
	"strings"

	"github.com/ferrybridge/ferry/bridge/network"
)

// RelayPowerLevel is what a user needs in a portal room to turn relaying
// on or off: moderators decide who speaks through whose connection.
const RelayPowerLevel = 50

func (b *Bridge) cmdRelay() *command {
	return &command{
		words: []string{"relay"}, args: "on|off", level: network.LevelUser,
		description: "In a bridged room: relay messages of people without a login through your connection (moderators only).",
		handler: func(ctx context.Context, c *commandContext) error {
			if err := relayArgs(c.args); err != nil {
				return err
			}
			c.args[0] = strings.ToLower(c.args[0])
			portal, err := b.Portals.ByRoom(ctx, c.room)
			if err != nil {
				return err
			}
			if portal == nil {
				// "Send this in the room" read as this room, the one
				// the user was in.
				return network.UserErrorf("this room is not bridged, and relaying is set per bridged room: send `!ferry relay %s` in the bridged room whose relaying you want to change", c.args[0])
			}
			levels, err := b.Matrix.Bot().PowerLevels(ctx, c.room)
			if err != nil {
				return fmt.Errorf("read power levels: %w", err)
			}
			if levels.GetUserLevel(c.user) < RelayPowerLevel {
				return network.UserErrorf("only room moderators (power level %d) may change relaying", RelayPowerLevel)
			}
			login := network.LoginID("")
			if c.args[0] == "on" {
				link, err := b.DB.UserPortals.Get(ctx, c.user, portal.Key)
				if err != nil {
					return err
				}
				if link == nil || b.loginEntry(portal.Key.Network, link.Login) == nil {
					return network.UserErrorf("you have no %s connection in this room to relay through", b.NetworkName(portal.Key.Network))
				}
				login = link.Login
			}
			err = b.Portals.Do(ctx, portal, func(ctx context.Context) error { return portal.SetRelay(ctx, login) })
			if err != nil {
				return err
			}
			if login == "" {
				c.reply("Relaying is off: only people logged in to " + b.NetworkName(portal.Key.Network) + " are bridged here.")
			} else {
				c.reply("Relaying is on: messages of people allowed to be relayed go out through your connection, prefixed with their name.")
			}
			return nil
		},
	}
}

// relayArgs says what is wrong with relay's arguments, nil if nothing:
// one word, "on" or "off".
func relayArgs(args []string) error {
	const usage = "usage: `!ferry relay on` or `!ferry relay off` in a bridged room"
	switch {
	case len(args) == 0:
		return network.UserErrorf("say whether to relay, `on` or `off`; %s", usage)
	case len(args) > 1:
		return network.UserErrorf("`relay` takes one word, `on` or `off`, and `%s` is more; %s", sanitizeWord(strings.Join(args[1:], " ")), usage)
	case !strings.EqualFold(args[0], "on") && !strings.EqualFold(args[0], "off"):
		return network.UserErrorf("`%s` is neither `on` nor `off`; %s", sanitizeWord(args[0]), usage)
	}
	return nil
}
