package bridge_test

import (
	"net/http"
	"testing"
	"time"

	"maunium.net/go/mautrix/event"

	"github.com/ferrybridge/ferry/internal/ferrytest"
	"github.com/ferrybridge/ferry/internal/testbed"
	"github.com/ferrybridge/ferry/internal/testnet"
)

// `login` reads its room's join rules and history visibility before it
// asks for a password there (roomOpenedBefore). When that read failed
// (a 502 from a front proxy, a timeout), the login went on all the same,
// and asked for the password in a room it had not been able to check:
// in a public one, in front of anyone who joins it.

// TestLoginRefusedInAPublicRoomWhoseRulesCannotBeRead: alice's
// management room is public, and the bot's read of its join rules fails
// once; she sends `login test carol` there.
func TestLoginRefusedInAPublicRoomWhoseRulesCannotBeRead(t *testing.T) {
	var proxy *testbed.FaultProxy
	h := ferrytest.Start(t, ferrytest.Options{HomeserverVia: func(t testing.TB, url string) string {
		proxy = testbed.NewFaultProxy(t, url)
		return proxy.URL()
	}}, testnet.New())
	alice := h.User("alice")
	mgmt := h.ManagementRoom(alice)
	openRoom(t, h, alice, mgmt, event.StateJoinRules, &event.JoinRulesEventContent{JoinRule: event.JoinRulePublic})()
	time.Sleep(time.Second) // the bot has seen the change
	proxy.FailNext("GET /_matrix/client/v3/rooms/"+mgmt.String()+"/state/m.room.join_rules", 1, http.StatusBadGateway)
	h.Command(alice, mgmt, "login test carol", "could not check")
	if said := botSaidSince(h, alice, mgmt, nil, "Please send your password"); len(said) != 0 {
		t.Errorf("a login in a public room whose join rules could not be read asked for the password: %q", said)
	}
	// The refusal is for a failure: the next `login` reads the rules and
	// says why it refuses.
	h.Command(alice, mgmt, "login test carol", "anyone")
}
