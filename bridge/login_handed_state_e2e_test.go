package bridge_test

import (
	"testing"

	"github.com/ferrybridge/ferry/bridge/network"
	"github.com/ferrybridge/ferry/internal/testnet"
)

// TestHandedOverClientKeepsItsState: a network that links a device during
// the login (WhatsApp) hands its client over with the completed login.
// Its connection dropped meanwhile, reported while the core did not know
// the login yet. The core showed the login connected all the same; now
// it takes the state the client says it is in.
func TestHandedOverClientKeepsItsState(t *testing.T) {
	s := newScene(t, false)
	s.tn.LinkAtLogin.Store(true)
	s.tn.OnLinked = func(cl *testnet.Client) {
		if cl.Login.ID == "carol" {
			cl.State(network.State{Kind: network.StateTransientDisconnect, Message: "the link dropped"})
		}
	}
	loginTest(t, s.h, s.tn, s.alice, s.mgmt, "carol")
	s.h.Command(s.alice, s.mgmt, "status", "carol: transient-disconnect (the link dropped)")

	// A client handed over connected is shown connected.
	loginTest(t, s.h, s.tn, s.alice, s.mgmt, "dave")
	s.h.Command(s.alice, s.mgmt, "status", "dave: connected")
}
