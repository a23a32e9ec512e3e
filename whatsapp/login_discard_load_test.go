package whatsapp

import (
	"context"
	"testing"

	"github.com/ferrybridge/ferry/bridge/network"
	"github.com/ferrybridge/ferry/internal/dbtest"
	"github.com/ferrybridge/ferry/internal/pgtest"
)

// TestRelinkSlowTheCoreCannotLoadIsDiscarded: a relink whose new device
// connects later than connect_timeout is handed to the core without a
// client. The core stores it, but its LoadLogin fails: here on
// PostgreSQL, whose driver heeds the flow's context, ended as Ferry
// stops while the login completes. The core then puts back the earlier
// login's record and cancels the flow. The new device must not stay
// linked and stored for a login that never runs: the Cancel discards it
// as for a login the core could not store, and the earlier device stays
// the login's, running and no longer marked for removal.
func TestRelinkSlowTheCoreCannotLoadIsDiscarded(t *testing.T) {
	db := dbtest.Open(t, "postgres", pgtest.URI(t))
	env := newLoginEnvOn(t, db.Database, "connect_timeout: 1s")
	old := linkedBefore(t, env)
	p, done := relinkUntilReconnect(t, env)
	res := waitResult(t, done)
	if res.err != nil || res.step.Type != network.StepComplete || res.step.Client != nil {
		t.Fatalf("Wait = %+v, %v", res.step, res.err)
	}
	bare := bareOn(env)

	// The core stored the login and loads it, with the flow's context
	// ended meanwhile.
	ended, cancel := context.WithCancel(context.Background())
	cancel()
	if cl, err := env.conn.LoadLogin(ended, res.step.Login); err == nil {
		t.Fatalf("premise: LoadLogin with an ended context on PostgreSQL made a client (%T)", cl)
	}
	p.Cancel() // the core ends the failed flow
	checkNewDeviceDiscarded(t, env, p, bare, old)
}
