// Package workers runs short functions on goroutines that stay alive for a
// while after their work, so that a burst reuses them.
//
// Why: the portals start a goroutine or two per bridged message (a send,
// then a tail that waits for its answer). A new goroutine starts with a
// small stack, and sending through the database and the network grows it
// several times; in a CPU profile of a burst from Matrix to IRC, copying
// those stacks was about a tenth of Ferry's processor time. A goroutine
// that goes on to the next message keeps the stack it grew.
package workers

import (
	"sync/atomic"
	"time"
)

// Pool hands functions to idle workers, or to a new one when none is
// idle: Go never waits for a worker, so a pool adds no queueing, and the
// number of workers follows the callers' own bounds. A worker idle for
// the pool's keep time ends. The zero Pool is not usable; see New.
type Pool struct {
	idle chan func()
	keep time.Duration
	live atomic.Int64
}

// New returns a pool whose workers end after keep without work.
func New(keep time.Duration) *Pool {
	return &Pool{idle: make(chan func()), keep: keep}
}

// Go runs f on a worker goroutine. f must recover its own panics if the
// caller wants them kept from ending the process, as with the go
// statement.
func (p *Pool) Go(f func()) {
	select {
	case p.idle <- f: // a worker waiting in work took it
	default:
		go p.work(f)
	}
}

// Live says how many workers there are, busy or idle.
func (p *Pool) Live() int { return int(p.live.Load()) }

func (p *Pool) work(f func()) {
	p.live.Add(1)
	defer p.live.Add(-1)
	var timer *time.Timer
	for {
		f()
		f = nil // let what f held go while the worker waits
		if timer == nil {
			timer = time.NewTimer(p.keep)
		} else {
			timer.Reset(p.keep)
		}
		select {
		case f = <-p.idle:
		case <-timer.C:
			return
		}
	}
}
