package whatsapp

import (
	"context"
	"strings"
	"testing"

	"github.com/ferrybridge/ferry/bridge/network"
)

// While an account is linked again, its earlier link goes on serving the
// login (the core sends through it) until the core starts the new one:
// the connector must go on knowing it as the login's running client.

// TestRelinkSlowStopDisconnectsTheEarlierClient: Ferry stops while the
// core is taking a slow relink handed over without a client (before its
// LoadLogin). The earlier client is still the login's running one and
// connected to WhatsApp: the connector's Stop must disconnect it, or it
// goes on receiving messages after the bridge has stopped.
func TestRelinkSlowStopDisconnectsTheEarlierClient(t *testing.T) {
	env := newLoginEnv(t, "connect_timeout: 1s")
	old := linkedBefore(t, env)
	_, done := relinkUntilReconnect(t, env)
	if env.conn.client(ownLogin) != old {
		t.Error("while the new device connects, the earlier link is not the login's running client")
	}
	if res := waitResult(t, done); res.err != nil || res.step.Client != nil {
		t.Fatalf("Wait = %+v, %v", res.step, res.err)
	}
	if env.conn.client(ownLogin) != old {
		t.Error("once the relink is handed to the core alone, the earlier link is not the login's running client")
	}
	before := env.fake(0).disconnectCount()
	env.conn.Stop(context.Background())
	if env.fake(0).disconnectCount() == before {
		t.Error("the connector's Stop left the earlier client, still the login's, connected to WhatsApp")
	}
}

// TestRelinkSlowAnotherUserIsRefusedMeanwhile: while a slow relink of an
// account waits for the core, another Matrix user links the same account.
// The account is alice's: the other user must be refused, as at any
// other time.
func TestRelinkSlowAnotherUserIsRefusedMeanwhile(t *testing.T) {
	env := newLoginEnv(t, "connect_timeout: 1s")
	linkedBefore(t, env)
	_, done := relinkUntilReconnect(t, env)
	if res := waitResult(t, done); res.err != nil || res.step.Client != nil {
		t.Fatalf("Wait = %+v, %v", res.step, res.err)
	}

	// The phone pairs a third device of the same account; clients 0-2: the
	// earlier link, the relink and its account.
	step, err := anotherUserLinksTheAccount(t, env, 3)
	if !strings.Contains(network.UserMessage(err, ""), "already linked to another Matrix user") {
		t.Errorf("another user's link of the account = %+v, %v; want it refused", step, err)
	}
}

// TestRelinkHandedOverStopDisconnectsBothClients: the new device of a
// relink connected in time and was handed to the core with its client,
// which becomes the login's running client. Ferry stops before the core
// started it in the earlier one's place: Stop must disconnect both.
func TestRelinkHandedOverStopDisconnectsBothClients(t *testing.T) {
	env := newLoginEnv(t, "")
	old := linkedBefore(t, env)
	p, done := relinkUntilReconnect(t, env)
	if env.conn.client(ownLogin) != old {
		t.Error("while the new device connects, the earlier link is not the login's running client")
	}
	res := handOverConnected(t, p, done)
	if env.conn.client(ownLogin) != res.step.Client {
		t.Error("the new link handed to the core is not the login's running client")
	}
	oldBefore, newBefore := env.fake(0).disconnectCount(), env.fake(2).disconnectCount()
	env.conn.Stop(context.Background())
	if env.fake(0).disconnectCount() == oldBefore {
		t.Error("the connector's Stop left the earlier client connected to WhatsApp")
	}
	if env.fake(2).disconnectCount() == newBefore {
		t.Error("the connector's Stop left the new client connected to WhatsApp")
	}
}
