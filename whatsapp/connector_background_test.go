package whatsapp

import (
	"context"
	"testing"
	"time"
)

// TestWorkStartedAfterStopIsNotCounted: Stop waits for the connector's
// background work on a WaitGroup. Work started once Stop has begun (the
// core ends a login flow after the connector's Stop when its own deadline
// passed, and the flow's clean-up starts then) was added to that
// WaitGroup, possibly from zero while Stop was still in Wait: a misuse
// that can panic ("WaitGroup is reused before previous Wait has
// returned"). Such work now runs on the ended context, uncounted.
func TestWorkStartedAfterStopIsNotCounted(t *testing.T) {
	env := newLoginEnv(t, "")
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	env.conn.Stop(ctx)

	release := make(chan struct{})
	defer close(release)
	ended := make(chan bool, 1)
	env.conn.background(func(ctx context.Context) {
		ended <- ctx.Err() != nil
		<-release
	})
	if !<-ended {
		t.Error("work started after Stop got a context that has not ended")
	}
	waited := make(chan struct{})
	go func() {
		env.conn.wg.Wait()
		close(waited)
	}()
	select {
	case <-waited:
	case <-time.After(2 * time.Second):
		t.Error("work started after Stop was counted in the WaitGroup that Stop waits on")
	}
}
