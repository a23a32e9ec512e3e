package whatsapp

import (
	"testing"

	"github.com/ferrybridge/ferry/bridge/network"
)

// TestQuietStateIsTheCurrentState: a state change held back while a
// login is being completed (quiet) is what the client tells the core
// it is in when the core takes it over (network.CurrentStater).
func TestQuietStateIsTheCurrentState(t *testing.T) {
	env := newEnv(t, sqliteDB(t), "")
	env.cl.report(network.StateConnected, "")
	env.cl.quiet.Store(true)
	env.cl.report(network.StateTransientDisconnect, "the connection dropped")
	env.cl.quiet.Store(false)
	want := network.State{Kind: network.StateTransientDisconnect, Message: "the connection dropped"}
	if got := env.cl.CurrentState(); got != want {
		t.Errorf("CurrentState is %+v, want %+v", got, want)
	}
}
