package bridge

import (
	"context"
	"fmt"
	"strings"

	"github.com/rs/zerolog"

	"github.com/ferrybridge/ferry/bridge/network"
)

// pickLogins finds the user's logins that args name: none (every login),
// a network, or a network and an account (its remote name or login ID).
func (b *Bridge) pickLogins(c *commandContext, args []string) []*loginEntry {
	if len(args) == 0 {
		return b.userLogins(c.user, "")
	}
	logins := b.userLogins(c.user, network.NetworkID(strings.ToLower(args[0])))
	if len(args) == 1 {
		return logins
	}
	// The rest of the line is the account: an IRC login's "alice on
	// libera", a phone number typed with spaces.
	want := strings.Join(args[1:], " ")
	var matched []*loginEntry
	for _, le := range logins {
		if l := le.login.Load(); strings.EqualFold(l.RemoteName, want) || string(l.ID) == want || samePhone(l.RemoteName, want) {
			matched = append(matched, le)
		}
	}
	return matched
}

// samePhone reports whether a and b are the same phone number, written
// with or without the spaces, dashes, dots and parentheses people group
// digits with ("+49 151 2345678", "(+49) 151-2345678" are WhatsApp's
// "+491512345678").
func samePhone(a, b string) bool {
	pa, ok := phoneNumber(a)
	if !ok {
		return false
	}
	pb, ok := phoneNumber(b)
	return ok && pa == pb
}

// phoneNumber is s without its grouping characters, if what is left is a
// phone number: digits, after an optional "+".
func phoneNumber(s string) (string, bool) {
	number := strings.Map(func(r rune) rune {
		switch r {
		case ' ', '-', '.', '(', ')':
			return -1
		}
		return r
	}, s)
	digits := strings.TrimPrefix(number, "+")
	if digits == "" || strings.Trim(digits, "0123456789") != "" {
		return "", false
	}
	return number, true
}

// noSuchLogin tells the user why args named none of their logins, and
// what to type instead: verb is the command ("logout", "reconnect").
func (b *Bridge) noSuchLogin(c *commandContext, verb string, args []string) error {
	if len(args) == 0 {
		return network.UserErrorf("You have no logins. Send %s to see how to log in.", c.command("help"))
	}
	net := network.NetworkID(strings.ToLower(args[0]))
	if _, ok := b.networks[net]; !ok {
		err := fmt.Sprintf("unknown network `%s`; this Ferry bridges %s", sanitizeWord(args[0]), b.networkList())
		if logins := b.userLogins(c.user, ""); len(logins) > 0 {
			err += "; your logins: " + loginChoices(c, verb, logins)
		}
		return network.UserErrorf("%s", err)
	}
	logins := b.userLogins(c.user, net)
	if len(logins) == 0 || len(args) == 1 {
		return network.UserErrorf("you have no %s login (see %s)", b.NetworkName(net), c.command("status"))
	}
	return network.UserErrorf("you have no %s login `%s`; name one: %s",
		b.NetworkName(net), sanitizeWord(strings.Join(args[1:], " ")), loginChoices(c, verb, logins))
}

// loginChoices spells the command naming each of logins as typed in c's
// room: "`logout irc alice on libera` or `logout irc alice on oftc`", in
// a portal with the prefix.
func loginChoices(c *commandContext, verb string, logins []*loginEntry) string {
	choices := make([]string, len(logins))
	for i, le := range logins {
		choices[i] = c.command(fmt.Sprintf("%s %s %s", verb, le.net, le.login.Load().RemoteName))
	}
	if len(choices) == 1 {
		return choices[0]
	}
	return strings.Join(choices[:len(choices)-1], ", ") + " or " + choices[len(choices)-1]
}

func (b *Bridge) cmdLogout() *command {
	return &command{
		words: []string{"logout"}, args: "<network> [account]", level: network.LevelUser,
		description: "Unlink a remote account (its chats and their history stay).",
		handler: func(ctx context.Context, c *commandContext) error {
			if len(c.args) == 0 {
				// Not every login: one typed by mistake would undo them all.
				if logins := b.userLogins(c.user, ""); len(logins) > 0 {
					return network.UserErrorf("name the login to log out of: %s", loginChoices(c, "logout", logins))
				}
				return network.UserErrorf("you have no logins to log out of (see %s)", c.command("status"))
			}
			net := network.NetworkID(strings.ToLower(c.args[0]))
			logins := b.pickLogins(c, c.args)
			if len(logins) == 0 {
				switch b.stopFlowOn(c.user, net) {
				case flowStopped:
					c.replyf("Stopped your %s login in progress: it is not kept.", b.NetworkName(net))
					return nil
				case flowEndedItself:
					// Its notice, on its way, says how it ended; a
					// second answer would tell the same end twice.
					zerolog.Ctx(ctx).Info().Msg("Logout of a login flow that had just ended; its notice answers")
					return nil
				}
				// Its flow may have kept the login just now.
				logins = b.pickLogins(c, c.args)
			}
			switch len(logins) {
			case 0:
				return b.noSuchLogin(c, "logout", c.args)
			case 1:
			default:
				return network.UserErrorf("you have several %s logins; name one: %s", b.NetworkName(net), loginChoices(c, "logout", logins))
			}
			le := logins[0]
			loginID := le.login.Load().ID
			// A login flow completing this same login must not keep it
			// (login_overruled.go). Read again after that: the login the
			// flow started meanwhile is the one to log out.
			if told := b.overruleFlow(c.user, net, loginID); told != nil {
				select {
				case <-told:
				case <-ctx.Done():
					return ctx.Err()
				}
			}
			// nil: the flow has undone it already.
			if current := b.loginEntry(net, loginID); current != nil {
				if lo, ok := current.client.(network.Logouter); ok {
					if err := lo.Logout(ctx); err != nil {
						// Forget it locally all the same: the user asked to be
						// logged out, and a dead remote must not keep the session.
						c.replyf("Could not log out on %s's side (%s); forgetting the login here anyway.", b.NetworkName(net), userMessage(err, "see the bridge log"))
					}
				}
			}
			if err := b.removeLogin(ctx, net, loginID); err != nil {
				return err
			}
			c.replyf("Logged out of %s (%s). Your chats and their history stay.", b.NetworkName(net), network.Literal(le.login.Load().RemoteName))
			return nil
		},
	}
}

// cmdReconnect closes and opens logins' connections again: the way back
// for a login whose network stopped trying (network.StateStopped), and a
// remedy for one that seems stuck.
func (b *Bridge) cmdReconnect() *command {
	return &command{
		words: []string{"reconnect"}, args: "[network] [account]", level: network.LevelUser,
		description: "Connect your logins again (all of them, a network's, or one account).",
		handler: func(ctx context.Context, c *commandContext) error {
			logins := b.pickLogins(c, c.args)
			if len(logins) == 0 {
				return b.noSuchLogin(c, "reconnect", c.args)
			}
			var names []string
			for _, le := range logins {
				// The connection's own states follow; the down timer of
				// an earlier outage keeps running, so a reconnect that
				// gets nowhere is still reported.
				le.client.Disconnect()
				le.client.Connect(b.ctx)
				names = append(names, fmt.Sprintf("%s (%s)", b.NetworkName(le.net), network.Literal(le.login.Load().RemoteName)))
			}
			c.replyf("Reconnecting %s.", strings.Join(names, ", "))
			return nil
		},
	}
}
