package bridge

import (
	"context"
	"fmt"
	"strings"

	"github.com/rs/zerolog"

	"github.com/ferrybridge/ferry/bridge/network"
)

// pickLogins finds the user's running logins that args name: none
// (every login), a network, or a network and an account (its remote
// name or login ID).
func (b *Bridge) pickLogins(c *commandContext, args []string) []*loginEntry {
	if len(args) == 0 {
		return b.userLogins(c.user, "")
	}
	return pickNamed(b.userLogins(c.user, network.NetworkID(strings.ToLower(args[0]))), args,
		func(le *loginEntry) *network.Login { return le.login.Load() })
}

// pickUnstarted is pickLogins for the user's logins that could not be
// started (logins_unstarted.go).
func (b *Bridge) pickUnstarted(c *commandContext, args []string) []*unstartedLogin {
	if len(args) == 0 {
		return b.userUnstarted(c.user, "")
	}
	return pickNamed(b.userUnstarted(c.user, network.NetworkID(strings.ToLower(args[0]))), args,
		func(u *unstartedLogin) *network.Login { return u.login })
}

// pickNamed keeps the logins of one network that the account in args
// (after the network) names; all of them when args name none.
func pickNamed[T any](logins []T, args []string, login func(T) *network.Login) []T {
	if len(args) <= 1 {
		return logins
	}
	// The rest of the line is the account: an IRC login's "alice on
	// libera", a phone number typed with spaces.
	want := strings.Join(args[1:], " ")
	var matched []T
	for _, le := range logins {
		if l := login(le); strings.EqualFold(l.RemoteName, want) || string(l.ID) == want || samePhone(l.RemoteName, want) {
			matched = append(matched, le)
		}
	}
	return matched
}

// loginRef names a login, running or not, in a command's answer.
type loginRef struct {
	net  network.NetworkID
	name string
}

// userLoginRefs names the user's logins on net ("" for all): the running
// ones, then those that could not be started.
func (b *Bridge) userLoginRefs(c *commandContext, net network.NetworkID) []loginRef {
	return loginRefs(b.userLogins(c.user, net), b.userUnstarted(c.user, net))
}

func loginRefs(running []*loginEntry, unstarted []*unstartedLogin) []loginRef {
	refs := make([]loginRef, 0, len(running)+len(unstarted))
	for _, le := range running {
		refs = append(refs, loginRef{le.net, le.login.Load().RemoteName})
	}
	for _, u := range unstarted {
		refs = append(refs, loginRef{u.net, u.login.RemoteName})
	}
	return refs
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
		if logins := b.userLoginRefs(c, ""); len(logins) > 0 {
			err += "; your logins: " + loginChoices(c, verb, logins)
		}
		return network.UserErrorf("%s", err)
	}
	logins := b.userLoginRefs(c, net)
	if len(logins) == 0 || len(args) == 1 {
		return network.UserErrorf("you have no %s login (see %s)", b.NetworkName(net), c.command("status"))
	}
	return network.UserErrorf("you have no %s login `%s`; name one: %s",
		b.NetworkName(net), sanitizeWord(strings.Join(args[1:], " ")), loginChoices(c, verb, logins))
}

// loginChoices spells the command naming each of logins as typed in c's
// room: "`logout irc alice on libera` or `logout irc alice on oftc`", in
// a portal with the prefix.
func loginChoices(c *commandContext, verb string, logins []loginRef) string {
	choices := make([]string, len(logins))
	for i, l := range logins {
		choices[i] = c.command(fmt.Sprintf("%s %s %s", verb, l.net, l.name))
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
				if logins := b.userLoginRefs(c, ""); len(logins) > 0 {
					return network.UserErrorf("name the login to log out of: %s", loginChoices(c, "logout", logins))
				}
				return network.UserErrorf("you have no logins to log out of (see %s)", c.command("status"))
			}
			net := network.NetworkID(strings.ToLower(c.args[0]))
			logins, unstarted := b.pickLogins(c, c.args), b.pickUnstarted(c, c.args)
			if len(logins)+len(unstarted) == 0 {
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
				logins, unstarted = b.pickLogins(c, c.args), b.pickUnstarted(c, c.args)
			}
			switch len(logins) + len(unstarted) {
			case 0:
				return b.noSuchLogin(c, "logout", c.args)
			case 1:
			default:
				return network.UserErrorf("you have several %s logins; name one: %s", b.NetworkName(net), loginChoices(c, "logout", loginRefs(logins, unstarted)))
			}
			var login *network.Login
			if len(logins) == 1 {
				login = logins[0].login.Load()
			} else {
				login = unstarted[0].login
			}
			// A login flow completing this same login must not keep it
			// (login_overruled.go). Read again after that: the login the
			// flow started meanwhile is the one to log out.
			if told := b.overruleFlow(c.user, net, login.ID); told != nil {
				select {
				case <-told:
				case <-ctx.Done():
					return ctx.Err()
				}
			}
			// nil: the flow has undone it already, or it never started.
			current := b.loginEntry(net, login.ID)
			if current == nil {
				if u := b.unstartedEntry(net, login.ID); u != nil {
					if done, err := b.logoutUnstarted(ctx, c, u); done || err != nil {
						return err
					}
					// A reconnect started it meanwhile.
					current = b.loginEntry(net, login.ID)
				}
			}
			if current != nil {
				if lo, ok := current.client.(network.Logouter); ok {
					if err := lo.Logout(ctx); err != nil {
						// Forget it locally all the same: the user asked to be
						// logged out, and a dead remote must not keep the session.
						c.replyf("Could not log out on %s's side (%s); forgetting the login here anyway.", b.NetworkName(net), userMessage(err, "see the bridge log"))
					}
				}
			}
			if err := b.removeLogin(ctx, net, login.ID); err != nil {
				return err
			}
			c.replyf("Logged out of %s (%s). Your chats and their history stay.", b.NetworkName(net), network.Literal(login.RemoteName))
			return nil
		},
	}
}

// cmdReconnect closes and opens logins' connections again: the way back
// for a login whose network stopped trying (network.StateStopped), and a
// remedy for one that seems stuck. A login that could not be started is
// loaded again.
func (b *Bridge) cmdReconnect() *command {
	return &command{
		words: []string{"reconnect"}, args: "[network] [account]", level: network.LevelUser,
		description: "Connect your logins again (all of them, a network's, or one account).",
		handler: func(ctx context.Context, c *commandContext) error {
			logins, unstarted := b.pickLogins(c, c.args), b.pickUnstarted(c, c.args)
			if len(logins)+len(unstarted) == 0 {
				return b.noSuchLogin(c, "reconnect", c.args)
			}
			var answer []string
			if len(logins) > 0 {
				var names []string
				for _, le := range logins {
					// The connection's own states follow; the down timer of
					// an earlier outage keeps running, so a reconnect that
					// gets nowhere is still reported.
					le.client.Disconnect()
					le.client.Connect(b.ctx)
					names = append(names, fmt.Sprintf("%s (%s)", b.NetworkName(le.net), network.Literal(le.login.Load().RemoteName)))
				}
				answer = append(answer, fmt.Sprintf("Reconnecting %s.", strings.Join(names, ", ")))
			}
			for _, u := range unstarted {
				answer = append(answer, b.retryAnswer(ctx, u))
			}
			c.reply(strings.Join(answer, "\n\n"))
			return nil
		},
	}
}
