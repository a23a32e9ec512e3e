package irc

import (
	"fmt"
	"time"

	"gopkg.in/irc.v4"

	"github.com/ferrybridge/ferry/bridge/network"
	"github.com/ferrybridge/ferry/irc/ircconn"
)

// regainInterval is how often a connection whose nick is not the wanted
// one (taken at connect, or refused by `irc nick`) asks for it again. The
// holder's QUIT or NICK, when seen, asks at once. Tests shorten it.
var regainInterval = newDuration(time.Minute)

// regainTimer asks for the wanted nick every regainInterval while conn
// runs and the login does not have it. It is armed only then (see
// armRegain): nearly every connection has its nick, and a timer per
// idle login that only compares two strings once a minute cost each of
// them some 170 bytes. A re-armed timer, not a goroutine with a ticker,
// so that a login waiting for its nick holds no goroutine stack either.
type regainTimer struct {
	t    *time.Timer
	conn *ircconn.Conn
}

// armRegain starts the regain timer for conn, the current connection,
// when the login lacks its wanted nick and the timer is not running. It
// is called wherever the nick can come apart from the wanted one: at
// connect, when our nick changes, and when a NICK is refused (also the
// answer to `irc nick`, which changes the wanted nick before asking).
func (cl *Client) armRegain(conn *ircconn.Conn) {
	cl.lock.Lock()
	defer cl.lock.Unlock()
	if cl.regain != nil || cl.conn != conn || !cl.lacksNick() {
		return
	}
	rt := &regainTimer{conn: conn}
	rt.t = time.AfterFunc(regainInterval.get(), func() { cl.regainTick(rt) })
	cl.regain = rt
}

// rearmRegain is armRegain for the current connection, from its handler.
func (cl *Client) rearmRegain() {
	if conn := cl.currentConn(); conn != nil {
		cl.armRegain(conn)
	}
}

// regainTick is rt's timer: it asks for the wanted nick and runs again
// later, or stops for good once the nick is ours or the connection over
// (armRegain starts another when needed).
func (cl *Client) regainTick(rt *regainTimer) {
	cl.lock.Lock()
	if cl.regain != rt {
		cl.lock.Unlock()
		return
	}
	if rt.conn.Ended() || cl.conn != rt.conn || !cl.lacksNick() {
		cl.regain = nil
		cl.lock.Unlock()
		return
	}
	cl.lock.Unlock()
	cl.regainNick(rt.conn)
	cl.lock.Lock()
	if cl.regain == rt {
		rt.t.Reset(regainInterval.get())
	}
	cl.lock.Unlock()
}

// stopRegain stops the regain timer; cl.lock must be held.
func (cl *Client) stopRegain() {
	if cl.regain != nil {
		cl.regain.t.Stop()
		cl.regain = nil
	}
}

// lacksNick reports whether the login is connected with another nick
// than the wanted one; cl.lock must be held.
func (cl *Client) lacksNick() bool {
	wanted, have := cl.meta.Nick, cl.nick
	return wanted != "" && have != "" && cl.fold(have) != cl.fold(wanted)
}

// wantsNick reports whether the login wants nick (casefolded compare) and
// has another one now.
func (cl *Client) wantsNick(nick string) bool {
	cl.lock.Lock()
	wanted, have := cl.meta.Nick, cl.nick
	cl.lock.Unlock()
	return wanted != "" && have != "" && cl.fold(nick) == cl.fold(wanted) && cl.fold(have) != cl.fold(wanted)
}

// regainNick sends NICK <wanted> when the current nick is another one,
// and no fellow Ferry login has it.
func (cl *Client) regainNick(conn *ircconn.Conn) {
	cl.lock.Lock()
	wanted, current := cl.meta.Nick, cl.conn == conn
	cl.lock.Unlock()
	if !current || !cl.wantsNick(wanted) || cl.nickHeldByFellow(wanted) {
		return
	}
	if err := conn.Send(&irc.Message{Command: "NICK", Params: []string{wanted}}); err != nil {
		cl.log.Debug().Err(err).Msg("Failed to ask for the wanted nick")
	}
}

// nickFreed is called when nick quit or changed away: if it is the one we
// want, ask for it now.
func (cl *Client) nickFreed(nick string) {
	if !cl.wantsNick(nick) {
		return
	}
	if conn := cl.currentConn(); conn != nil {
		cl.regainNick(conn)
	}
}

// nickHeldByFellow reports whether wanted, the nick this login lacks, is
// another Ferry login's on the network (now, or lately: ferryNickLinger),
// and then tells the user, once, why they have another nick. Ferry never
// takes a nick from a fellow login: two users whose nick template gives
// the same nick would otherwise take it from each other at every
// reconnect (the one reconnecting finds it taken, the other asks for it
// at its QUIT). The regain timer keeps running, so the nick is asked for
// once its holder has let it go for good. Callers must not hold cl.lock.
func (cl *Client) nickHeldByFellow(wanted string) bool {
	folded := cl.fold(wanted)
	if !cl.c.ferryHeld(cl.netName, cl.loginID, folded) {
		return false
	}
	cl.lock.Lock()
	told := cl.toldNickHeld == folded
	cl.toldNickHeld = folded
	have := cl.nick
	cl.lock.Unlock()
	if !told && cl.c.host != nil {
		cl.log.Info().Str("nick", have).Str("wanted", wanted).Msg("The wanted nick is another Ferry login's; not taking it")
		text := nickHeldText(have, wanted, cl.netName)
		// Not on the caller's goroutine: it may be the connection's
		// reader, which must not wait for Matrix.
		go cl.c.host.NotifyUser(cl.c.ctx, cl.loginID, text)
	}
	return true
}

// nickHeldText tells a user that the nick they wanted is another Ferry
// user's. Nicks go in as code: they may hold backticks, backslashes and
// brackets, which Markdown would otherwise take for its own.
func nickHeldText(have, wanted, netName string) string {
	return fmt.Sprintf("You are %s on %s, not %s: another Ferry user on %s has that nick, and Ferry does not take a nick from another Ferry user. "+
		"You will get it when they no longer use it; or choose another with `irc nick %s <nick>`.",
		network.CodeSpan(have), netName, network.CodeSpan(wanted), netName, netName)
}
