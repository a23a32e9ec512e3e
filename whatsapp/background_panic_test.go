package whatsapp

import (
	"context"
	"testing"
	"time"
)

// TestBackgroundWorkThatPanicsDoesNotEndFerry: the connector's background
// work (a `whatsapp sync` refreshing people's names and pictures from
// what WhatsApp says, notices, unlinks) runs outside whatsmeow's handler
// and its recover. A panic in one piece must be logged and end that
// piece only, not the bridge; Stop still waits for the rest.
func TestBackgroundWorkThatPanicsDoesNotEndFerry(t *testing.T) {
	env := newLoginEnv(t, "")
	env.conn.background(func(context.Context) { panic("a fault in background work") })
	release := make(chan struct{})
	finished := make(chan struct{})
	env.conn.background(func(context.Context) {
		<-release
		close(finished)
	})
	time.Sleep(50 * time.Millisecond) // the panicking work has run
	close(release)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	env.conn.Stop(ctx)
	if ctx.Err() != nil {
		t.Fatal("Stop waited until its deadline: the work that panicked was never counted done")
	}
	select {
	case <-finished:
	default:
		t.Error("Stop returned before the other background work finished")
	}
}
