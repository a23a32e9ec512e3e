package main

import (
	"context"
	"errors"
	"sync"
	"time"
)

// changeSignal wakes the goroutines waiting on state that another
// goroutine records (a /sync loop, an IRC connection's reader): the
// recorder calls notify after each change, with the state's lock held,
// and the waiters look again.
type changeSignal struct{ ch chan struct{} }

func newChangeSignal() changeSignal { return changeSignal{ch: make(chan struct{})} }

// notify wakes every waiter; the caller holds the state's lock.
func (c *changeSignal) notify() {
	close(c.ch)
	c.ch = make(chan struct{})
}

// errWaitTimeout is what waitUntil returns when timeout passed first.
var errWaitTimeout = errors.New("timed out")

// waitUntil calls check with mu held, now and after every notify of sig
// (which mu guards), until check is done or fails, ctx ends, or timeout
// passes (errWaitTimeout).
func waitUntil(ctx context.Context, mu *sync.Mutex, sig *changeSignal, timeout time.Duration, check func() (bool, error)) error {
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	for {
		mu.Lock()
		done, err := check()
		ch := sig.ch
		mu.Unlock()
		if err != nil || done {
			return err
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return ctx.Err()
		case <-deadline.C:
			return errWaitTimeout
		}
	}
}
