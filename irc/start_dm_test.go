package irc

import (
	"context"
	"errors"
	"testing"

	"github.com/ferrybridge/ferry/bridge/network"
)

// TestStartDMRefusesGhostsThatAreNoNick: a ghost's Matrix ID is anyone's
// to write, and one that decodes to a target list or a channel must not
// become a DM portal (whose messages would go there); the user is told
// why. A ghost of a real nick still opens the DM.
func TestStartDMRefusesGhostsThatAreNoNick(t *testing.T) {
	cl, _ := channelClient(t)
	commaList, ok := parseGhostLocalpart("test_bob=2cnickserv") // @irc_test_bob=2cnickserv:server
	if !ok {
		t.Fatal("ghost localpart refused")
	}
	for _, user := range []network.UserID{commaList, "test/#chan", "test/bob nickserv", "test/:bob"} {
		key, err := cl.StartDM(context.Background(), user)
		var ue *network.UserError
		if !errors.As(err, &ue) {
			t.Errorf("StartDM(%q) = %v, %v; want a UserError", user, key, err)
		}
	}
	key, err := cl.StartDM(context.Background(), "test/bob")
	if err != nil || key.Receiver != cl.loginID {
		t.Errorf("StartDM with bob = %v, %v; want bob's DM portal", key, err)
	}
}
