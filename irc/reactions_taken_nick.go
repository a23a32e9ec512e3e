package irc

import (
	"strings"

	"gopkg.in/irc.v4"

	"github.com/ferrybridge/ferry/irc/ircconn"
)

// Reaction removals from a Ferry user's nick in someone else's hands. A
// reaction a Ferry user makes from Matrix is stored under their IRC
// user ID (their nick), the one an IRC +draft/unreact from that nick
// names, and the core takes it back (through the bot, as the ghost may
// not redact the user's own event). While the Ferry user is off the
// network (disconnected, or on a fallback nick), anyone may take the
// nick and send that removal: it would take back the Ferry user's own
// Matrix reaction. The Ferry user's IRC self is Ferry's connection, so a
// removal from their nick that Ferry did not send is someone else's,
// unless the server vouches for it: an account tag naming the account
// the Ferry login authenticates with (the user on another client). A
// nick the Ferry user had before their current (or wanted) one is not
// known here, so their reactions made under it stay exposed.

// takenFerryNick reports whether msg, from a nick no Ferry login holds
// now, names in its source the nick of a Ferry login of this network
// (the one it uses or wants), without an account tag naming that login's
// account: someone else with the Ferry user's nick.
func (cl *Client) takenFerryNick(msg *irc.Message) bool {
	if msg.Prefix == nil || cl.c.isFerrySource(cl.netName, msg.Prefix) {
		return false
	}
	cm := cl.cm()
	folded := ircconn.Casefold(cm, msg.Prefix.Name)
	user := makeUserID(cl.netName, cm, msg.Prefix.Name)
	tagged := msg.Tags["account"]
	cl.c.lock.Lock()
	clients := cl.c.clientsOn(cl.netName)
	cl.c.lock.Unlock()
	for _, other := range clients {
		other.lock.Lock()
		owns := other.login.RemoteUser == user || ircconn.Casefold(cm, other.meta.Nick) == folded
		account := other.meta.SASLAccount
		other.lock.Unlock()
		if owns {
			return account == "" || tagged == "" || tagged == "*" || !strings.EqualFold(tagged, account)
		}
	}
	return false
}
