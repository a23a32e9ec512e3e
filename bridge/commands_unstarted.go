package bridge

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/ferrybridge/ferry/bridge/network"
)

// The answers of `status`, `logout` and `reconnect` about the logins
// that could not be started (logins_unstarted.go).

// unstartedEntry is the login of net and id that could not be started,
// nil if there is none.
func (b *Bridge) unstartedEntry(net network.NetworkID, loginID network.LoginID) *unstartedLogin {
	b.loginLock.RLock()
	defer b.loginLock.RUnlock()
	return b.unstarted[loginKey{net, loginID}]
}

// unstartedName is u as the answers name a login: "Testnet (alice)".
func (b *Bridge) unstartedName(u *unstartedLogin) string {
	return fmt.Sprintf("%s (%s)", b.NetworkName(u.net), network.Literal(u.login.RemoteName))
}

// statusUnstarted is u's line in `status`.
func (b *Bridge) statusUnstarted(c *commandContext, u *unstartedLogin) string {
	named := fmt.Sprintf("%s %s", u.net, u.login.RemoteName)
	return fmt.Sprintf("* **%s** %s: could not be started: %s %s forgets it, %s tries again.\n",
		b.NetworkName(u.net), network.Literal(u.login.RemoteName), sentence(b.unstartedReason(u)),
		c.command("logout "+named), c.command("reconnect "+named))
}

// logoutUnstarted forgets u for `logout`. done is false when u was
// started meanwhile (a reconnect): it runs, to be logged out as such.
func (b *Bridge) logoutUnstarted(ctx context.Context, c *commandContext, u *unstartedLogin) (done bool, err error) {
	remoteLeft, done, err := b.forgetUnstarted(ctx, u)
	if !done {
		return false, nil
	}
	if errors.Is(err, errRowKept) {
		return true, err
	}
	var sb strings.Builder
	fmt.Fprintf(&sb, "Forgot your %s login: it never started, so Ferry could not log it out on %s's side.", b.unstartedName(u), b.NetworkName(u.net))
	if remoteLeft != "" {
		sb.WriteString(" " + remoteLeft)
	}
	if err != nil {
		fmt.Fprintf(&sb, " Ferry could not delete what it kept of it (%s); the administrator can see why in the bridge log.", userMessage(err, "an internal error"))
	}
	sb.WriteString(" Your chats and their history stay.")
	c.reply(sb.String())
	return true, nil
}

// retryAnswer loads u again for `reconnect`, and says how it went.
func (b *Bridge) retryAnswer(ctx context.Context, u *unstartedLogin) string {
	switch err := b.retryUnstarted(ctx, u); {
	case err == nil:
		return fmt.Sprintf("Started %s, which could not be started before; connecting.", b.unstartedName(u))
	case errors.Is(err, errLoginMovedOn):
		return fmt.Sprintf("%s was started or logged out meanwhile.", b.unstartedName(u))
	default:
		return fmt.Sprintf("%s still could not be started: %s", b.unstartedName(u), sentence(userMessage(err, "an internal error")))
	}
}
