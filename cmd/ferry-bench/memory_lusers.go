package main

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"

	"gopkg.in/irc.v4"

	"github.com/ferrybridge/ferry/irc/ircconn"
)

// luserCounter is an IRC client of the benchmark's own that counts
// clients on InspIRCd with LUSERS: the IRC side's view of how many Ferry
// logins are connected, independent of Ferry.
type luserCounter struct {
	conn    *ircconn.Conn
	mu      sync.Mutex // one question at a time
	replies chan lusers
	partial lusers // reader goroutine only: the reply being collected
}

// lusers is one LUSERS answer: registered users (this observer included)
// and connections still registering ("unknown", 253).
type lusers struct{ users, unknown int }

func newLuserCounter(ctx context.Context, addr string) (*luserCounter, error) {
	lc := &luserCounter{replies: make(chan lusers, 4)}
	conn, err := ircconn.Dial(ctx, ircconn.Config{
		Addr: addr, Nick: "observer", Unlimited: true,
		Handler: func(m *irc.Message) {
			switch m.Command {
			case "251": // <me> :There are <users> users and <invisible> invisible on <n> servers
				f := strings.Fields(m.Trailing())
				lc.partial = lusers{}
				for i, w := range f {
					if (w == "users" || w == "invisible") && i > 0 {
						n, _ := strconv.Atoi(f[i-1])
						lc.partial.users += n
					}
				}
			case "253": // <me> <n> :unknown connections (sent only when n > 0)
				lc.partial.unknown, _ = strconv.Atoi(m.Param(1))
			case "266": // the last line of the answer
				select {
				case lc.replies <- lc.partial:
				default:
				}
			}
		},
	})
	if err != nil {
		return nil, err
	}
	lc.conn = conn
	return lc, nil
}

// users is the number of registered users (this observer included).
func (lc *luserCounter) users() (int, error) {
	l, err := lc.ask()
	return l.users, err
}

func (lc *luserCounter) ask() (lusers, error) {
	lc.mu.Lock()
	defer lc.mu.Unlock()
	// InspIRCd sends LUSERS output during registration too; an answer
	// left over from then (or from a timed-out question) is stale.
	for len(lc.replies) > 0 {
		<-lc.replies
	}
	if err := lc.conn.Send(&irc.Message{Command: "LUSERS"}); err != nil {
		return lusers{}, err
	}
	select {
	case l := <-lc.replies:
		return l, nil
	case <-lc.conn.Done():
		return lusers{}, fmt.Errorf("observer disconnected: %w", lc.conn.Err())
	case <-time.After(10 * time.Second):
		return lusers{}, errors.New("no LUSERS answer in 10 s")
	}
}

// startupTimes are when InspIRCd first saw a new connection (registered
// or not), first counted a new user, and counted all wanted.
type startupTimes struct{ firstConn, firstUser, all time.Time }

// waitUsers polls until at least want users are registered, every poll
// apart, and notes when the counts first went above from users (and no
// unknown connections).
func (lc *luserCounter) waitUsers(ctx context.Context, p *memProc, from, want int, poll, timeout time.Duration) (startupTimes, error) {
	var st startupTimes
	deadline := time.Now().Add(timeout)
	last := lusers{-1, -1}
	for {
		l, err := lc.ask()
		now := time.Now()
		if err != nil {
			return st, err
		}
		if (l.users > from || l.unknown > 0) && st.firstConn.IsZero() {
			st.firstConn = now
		}
		if l.users > from && st.firstUser.IsZero() {
			st.firstUser = now
		}
		if l.users >= want {
			st.all = now
			return st, nil
		}
		if l != last {
			last = l
			deadline = now.Add(timeout) // progress extends the wait
		}
		if p != nil && p.exited() {
			return st, p.withLog(fmt.Errorf("exited with %d of %d users on IRC", l.users, want))
		}
		if now.After(deadline) {
			return st, fmt.Errorf("%d of %d users on IRC after %s without progress", l.users, want, timeout)
		}
		select {
		case <-ctx.Done():
			return st, ctx.Err()
		case <-time.After(poll):
		}
	}
}

func (lc *luserCounter) close() { _ = lc.conn.Close("bye") }
