package whatsapp

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/ferrybridge/ferry/bridge/network"
)

// TestStopWaitsForTheDiscardOfASlowLink: the core could not store a
// relink handed over without a client and cancelled the flow, whose
// discard has the new device connect to unlink itself. WhatsApp does not
// log it in, and the connector is stopped meanwhile: Stop must end the
// discard and wait for it, as the core closes the database after Stop,
// and the device the core never took is still deleted here.
func TestStopWaitsForTheDiscardOfASlowLink(t *testing.T) {
	saved := stopGrace
	t.Cleanup(func() { stopGrace = saved })
	stopGrace = 500 * time.Millisecond
	env := newLoginEnv(t, "connect_timeout: 1s")
	linkedBefore(t, env)
	p, done := relinkUntilReconnect(t, env)
	res := waitResult(t, done)
	if res.err != nil || res.step.Type != network.StepComplete || res.step.Client != nil {
		t.Fatalf("Wait = %+v, %v", res.step, res.err)
	}
	unlinking := make(chan struct{})
	var once sync.Once
	env.setup = func(f *fakeWA) {
		if f.Client.Store.ID != nil && *f.Client.Store.ID == ownDev {
			once.Do(func() { close(unlinking) })
		}
	}

	p.Cancel() // the core failed to store the login
	select {
	case <-unlinking:
	case <-time.After(10 * time.Second):
		t.Fatal("the discard did not start the new device's unlink")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	env.conn.Stop(ctx)
	if ctx.Err() != nil {
		t.Fatal("the connector's Stop waited for the discard until its deadline instead of ending it")
	}
	select {
	case <-p.cleaned:
	default:
		t.Fatal("the discard of the new device was still running after the connector's Stop")
	}
	if d, err := env.conn.container.GetDevice(context.Background(), ownDev); err != nil || d != nil {
		t.Errorf("the new device the core never took is still stored after the stop (%v)", err)
	}
}
