package whatsapp

import (
	"errors"
	"strings"
	"testing"
	"time"

	"go.mau.fi/whatsmeow/types/events"

	"github.com/ferrybridge/ferry/bridge/network"
)

// TestReuploadAnswerThatPanicsAfterARestartIsGivenUp: the phone's answer
// to a re-upload request is stored until it is in Matrix, and the next
// run bridges it in the background once connected. Bridging it panics
// (here the core's HandleEvent; a fault in converting the stored message
// would do the same): outside whatsmeow's handler, unrecovered, that
// ended the bridge, and again at every start, as the answer stays
// stored. It must be given up, forgotten and its user told.
func TestReuploadAnswerThatPanicsAfterARestartIsGivenUp(t *testing.T) {
	saved := mediaRetryRedelivery
	t.Cleanup(func() { mediaRetryRedelivery = saved })
	mediaRetryRedelivery = []time.Duration{time.Hour}
	db := sqliteDB(t)
	env := newEnv(t, db, "")
	answer := askedAgainForIMG(t, env)
	env.host.handle = func(network.Event) error { return errors.New("homeserver down") }
	env.cl.cli.DangerousInternals().HandleMediaRetryNotification(env.ctx, answer)
	env.waitHandled(t, 1) // the first try; the next would come in an hour
	env.conn.Stop(env.ctx)

	restarted := newEnvOn(t, db, env.device)
	restarted.host.handle = func(evt network.Event) error {
		if _, ok := evt.(*network.Edit); ok {
			panic("the stored answer")
		}
		return nil
	}
	restarted.cl.Connect(restarted.ctx)
	waitConnect(t, restarted.wa)
	restarted.dispatch(&events.Connected{})
	restarted.waitHandled(t, 1)
	waitForgotten(t, restarted, "IMG")
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		restarted.host.mu.Lock()
		notices := strings.Join(restarted.host.notices, "\n")
		restarted.host.mu.Unlock()
		if strings.Contains(notices, "file") && strings.Contains(notices, "+"+bobPN.User) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("the user was not told that the file of the chat with Bob was given up; notices: %q", notices)
		}
	}
}

// TestReuploadAnswerThatPanicsOnALaterTryIsGivenUp: the core could not
// take the phone's answer at first, and Ferry's own later try, in the
// background, panics. It must be given up and its user told, not end
// the bridge.
func TestReuploadAnswerThatPanicsOnALaterTryIsGivenUp(t *testing.T) {
	quickMediaRetryRedelivery(t)
	env := newEnv(t, sqliteDB(t), "")
	answer := askedAgainForIMG(t, env)
	tries := 0
	env.host.handle = func(network.Event) error {
		if tries++; tries == 1 {
			return errors.New("homeserver down")
		}
		panic("the second try")
	}
	env.cl.cli.DangerousInternals().HandleMediaRetryNotification(env.ctx, answer)
	env.waitHandled(t, 2)
	waitForgotten(t, env, "IMG")
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		env.host.mu.Lock()
		notices := strings.Join(env.host.notices, "\n")
		env.host.mu.Unlock()
		if strings.Contains(notices, "file") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the user was not told that the file was given up; notices: %q", notices)
		}
	}
	time.Sleep(20 * time.Millisecond)
	if _, handled := env.host.take(); len(handled) != 2 {
		t.Errorf("%d tries; want none after the one that panicked", len(handled))
	}
}
