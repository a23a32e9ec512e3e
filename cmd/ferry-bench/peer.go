package main

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"gopkg.in/irc.v4"

	"github.com/ferrybridge/ferry/irc/ircconn"
)

// ircPeer is the plain IRC client on the far side: it joins the bridged
// channels, sends the IRC -> Matrix bursts and records, with arrival
// times, the lines Ferry writes for the Matrix user.
type ircPeer struct {
	conn *ircconn.Conn

	mu      sync.Mutex
	changed changeSignal // at every recorded line
	joined  map[string]bool
	lines   map[string][]peerLine // by casefolded channel
}

type peerLine struct {
	text string
	at   time.Time
}

func dialPeer(ctx context.Context, e *env, queue int) (*ircPeer, error) {
	p := &ircPeer{changed: newChangeSignal(), joined: map[string]bool{}, lines: map[string][]peerLine{}}
	conn, err := ircconn.Dial(ctx, ircconn.Config{
		Addr: e.ircd.Addr, Nick: peerNick, Unlimited: true, QueueSize: queue,
		Handler: p.handle,
	})
	if err != nil {
		return nil, fmt.Errorf("peer: %w", err)
	}
	p.conn = conn
	for _, pt := range e.portals {
		if err := conn.Send(&irc.Message{Command: "JOIN", Params: []string{pt.channel}}); err != nil {
			return nil, err
		}
	}
	err = p.waitFor(ctx, 30*time.Second, "the peer's JOINs", func() bool {
		for _, pt := range e.portals {
			if !p.joined[strings.ToLower(pt.channel)] {
				return false
			}
		}
		return true
	})
	return p, err
}

// handle runs on the connection's reader goroutine.
func (p *ircPeer) handle(m *irc.Message) {
	at := time.Now()
	switch {
	case m.Command == "366": // end of NAMES: a JOIN is done
		p.mu.Lock()
		p.joined[strings.ToLower(m.Param(1))] = true
		p.mu.Unlock()
	case m.Command == "PRIVMSG" && m.Prefix != nil && strings.EqualFold(m.Prefix.Name, benchNick):
		ch := strings.ToLower(m.Param(0))
		p.mu.Lock()
		p.lines[ch] = append(p.lines[ch], peerLine{text: m.Param(1), at: at})
		p.changed.notify()
		p.mu.Unlock()
		return
	default:
		return
	}
	p.mu.Lock()
	p.changed.notify()
	p.mu.Unlock()
}

func (p *ircPeer) send(channel, text string) error {
	return p.conn.Send(&irc.Message{Command: "PRIVMSG", Params: []string{channel, text}})
}

// received returns a copy of the lines received in channel.
func (p *ircPeer) received(channel string) []peerLine {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]peerLine(nil), p.lines[strings.ToLower(channel)]...)
}

// waitFor calls check under the lock at every change until it returns
// true, or fails after timeout.
func (p *ircPeer) waitFor(ctx context.Context, timeout time.Duration, what string, check func() bool) error {
	err := waitUntil(ctx, &p.mu, &p.changed, timeout, func() (bool, error) { return check(), nil })
	if errors.Is(err, errWaitTimeout) {
		return fmt.Errorf("timed out after %s waiting for %s", timeout, what)
	}
	return err
}

func (p *ircPeer) close() { _ = p.conn.Close("bye") }
