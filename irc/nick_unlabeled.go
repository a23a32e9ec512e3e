package irc

import (
	"context"
	"time"

	"gopkg.in/irc.v4"

	"github.com/ferrybridge/ferry/irc/ircconn"
)

// `irc nick` without labels. With labeled-response the server's answer
// to the NICK is its labeled reply (cmdNick, nickAnswer). Without it the
// user was only told the nick had been asked for: a nick in use, or one
// the server refuses for good (reserved, Q-lined), went untold, and a
// refused one stayed wanted, asked for again every regainInterval. So the
// answer is told apart by what it names: our NICK to the nick, or a nick
// error numeric naming it.

// nickAnswerWait bounds the wait for the server's answer to an unlabeled
// NICK; none by then is told as "Asked ...".
var nickAnswerWait = newDuration(10 * time.Second)

// nickErrors are the numerics refusing a NICK; the nick is their second
// parameter.
var nickErrors = map[string]bool{
	"432": true, "433": true, "435": true, "436": true, "437": true, "438": true, "447": true, "484": true,
}

// nickWait is an unlabeled `irc nick` waiting for its answer; cl.lock
// guards Client.nickWait.
type nickWait struct {
	nick   string // casefolded
	answer chan *irc.Message
}

// nickUnlabeled sends msg (NICK nick) and returns the server's answer as
// a reply for nickAnswer; empty when none came in time.
func (cl *Client) nickUnlabeled(ctx context.Context, conn *ircconn.Conn, msg *irc.Message, nick string) (ircconn.LabeledReply, error) {
	w := &nickWait{nick: cl.fold(nick), answer: make(chan *irc.Message, 1)}
	cl.lock.Lock()
	cl.nickWait = w
	cl.lock.Unlock()
	defer func() {
		cl.lock.Lock()
		if cl.nickWait == w {
			cl.nickWait = nil
		}
		cl.lock.Unlock()
	}()
	if err := conn.Send(msg); err != nil {
		return ircconn.LabeledReply{}, err
	}
	timer := time.NewTimer(nickAnswerWait.get())
	defer timer.Stop()
	select {
	case m := <-w.answer:
		return ircconn.LabeledReply{Messages: []*irc.Message{m}}, nil
	case <-timer.C:
	case <-ctx.Done():
	case <-conn.Done():
	}
	return ircconn.LabeledReply{}, nil
}

// noteNickAnswer hands msg to the unlabeled `irc nick` it answers, if
// any; msg goes on to its handler all the same.
func (cl *Client) noteNickAnswer(msg *irc.Message) {
	var nick string
	switch {
	case msg.Command == "NICK" && msg.Prefix != nil && len(msg.Params) > 0:
		if !cl.isMe(msg.Prefix.Name) {
			return
		}
		nick = msg.Params[0]
	case nickErrors[msg.Command] && len(msg.Params) > 1:
		nick = msg.Params[1]
	default:
		return
	}
	folded := cl.fold(nick)
	cl.lock.Lock()
	defer cl.lock.Unlock()
	if w := cl.nickWait; w != nil && w.nick == folded {
		cl.nickWait = nil
		w.answer <- msg // room for one, and only one is ever sent
	}
}
