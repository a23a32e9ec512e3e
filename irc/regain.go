package irc

import (
	"sync"
	"time"

	"gopkg.in/irc.v4"

	"github.com/ferrybridge/ferry/irc/ircconn"
)

// regainInterval is how often a connection whose nick is not the wanted
// one (taken at connect, or refused by `irc nick`) asks for it again. The
// holder's QUIT or NICK, when seen, asks at once. Tests shorten it.
var regainInterval = newDuration(time.Minute)

// startRegain asks for the wanted nick every regainInterval until conn
// ends. It is a re-armed timer, not a goroutine with a ticker: nearly
// every connection has its nick and only compares two strings once a
// minute, which should not cost each idle login a goroutine stack.
func (cl *Client) startRegain(conn *ircconn.Conn) {
	var mu sync.Mutex // orders the assignment of t before its use in f
	var t *time.Timer
	f := func() {
		if conn.Ended() {
			return
		}
		cl.regainNick(conn)
		mu.Lock()
		t.Reset(regainInterval.get())
		mu.Unlock()
	}
	mu.Lock()
	t = time.AfterFunc(regainInterval.get(), f)
	mu.Unlock()
}

// wantsNick reports whether the login wants nick (casefolded compare) and
// has another one now.
func (cl *Client) wantsNick(nick string) bool {
	cl.lock.Lock()
	wanted, have := cl.meta.Nick, cl.nick
	cl.lock.Unlock()
	return wanted != "" && have != "" && cl.fold(nick) == cl.fold(wanted) && cl.fold(have) != cl.fold(wanted)
}

// regainNick sends NICK <wanted> when the current nick is another one.
func (cl *Client) regainNick(conn *ircconn.Conn) {
	cl.lock.Lock()
	wanted, current := cl.meta.Nick, cl.conn == conn
	cl.lock.Unlock()
	if !current || !cl.wantsNick(wanted) {
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
