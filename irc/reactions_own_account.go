package irc

import (
	"strings"

	"gopkg.in/irc.v4"

	"github.com/ferrybridge/ferry/bridge/network"
)

// Reaction removals from the Ferry user's own account. A reaction a
// Ferry user makes from Matrix is stored under their IRC user ID, the
// nick they had then, which an IRC +draft/unreact from that nick names.
// Anyone who has the nick later (the user changed it, is off the
// network, or logged out) may send one, so the core takes a reaction
// made from Matrix back only for a removal the user's own account made
// (Sender.FromMe), handed over through their login. The Ferry user's IRC
// self is Ferry's connection, whose own TAGMSGs are echoes and not
// bridged; any other removal is theirs only when the server vouches for
// it: an account tag naming the account their Ferry login is logged in
// to (the user on another client). Every other removal goes as
// someone else's, and takes back only reactions made on IRC.

// accountLogin is the client of the Ferry login on this network whose
// SASL account msg's account tag names, if that login may hand over an
// event of portal: a channel it is in or keeps to rejoin (through
// another, the event would bring the user back into a room they left),
// or a PM of its own. nil when there is none.
func (cl *Client) accountLogin(msg *irc.Message, portal network.PortalKey) *Client {
	tagged := msg.Tags["account"]
	if tagged == "" || tagged == "*" {
		return nil
	}
	candidates := []*Client{cl}
	_, folded, _ := splitNet(string(portal.Chat))
	if portal.Receiver == "" {
		cl.c.lock.Lock()
		candidates = cl.c.clientsOn(cl.netName)
		cl.c.lock.Unlock()
	}
	for _, other := range candidates {
		if account := other.account(); account != "" && strings.EqualFold(account, tagged) && (portal.Receiver != "" || other.wantsChannel(folded)) {
			return other
		}
	}
	return nil
}

// account is the account cl is logged in to as the server names it
// (RPL_LOGGEDIN), which the account tag names: on Atheme any nick grouped
// to an account authenticates to it, so the name cl authenticates with
// may differ. Off the network, or before the server said, it is that
// name.
func (cl *Client) account() string {
	cl.lock.Lock()
	conn, authenticates := cl.conn, cl.meta.SASLAccount
	cl.lock.Unlock()
	if conn != nil {
		if account := conn.Account(); account != "" {
			return account
		}
	}
	return authenticates
}
