package whatsapp

import (
	"context"
	"strings"
	"testing"

	"github.com/ferrybridge/ferry/bridge/network"
)

// TestFirstLinkSlowAnotherUserIsRefusedMeanwhile: alice's first link of
// an account connects later than connect_timeout and is handed to the
// core alone; until the core's LoadLogin the connector has no running
// client of the login. Another Matrix user who links the same account
// meanwhile must be refused all the same: the core stores a login by its
// ID, and would give alice's account to them.
func TestFirstLinkSlowAnotherUserIsRefusedMeanwhile(t *testing.T) {
	env := newLoginEnv(t, "connect_timeout: 1s")
	p := linkByQR(t, env, 0)
	step, err := p.Wait(context.Background())
	if err != nil || step.Client != nil {
		t.Fatalf("Wait = %+v, %v", step, err)
	}

	mstep, err := anotherUserLinksTheAccount(t, env, 2) // clients 0-1: alice's pairing and her account
	if !strings.Contains(network.UserMessage(err, ""), "already linked to another Matrix user") {
		t.Errorf("another user's link of the account while alice's waits for the core = %+v, %v; want it refused", mstep, err)
	}
}
