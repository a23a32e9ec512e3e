package bridge_test

import (
	"strings"
	"testing"

	"github.com/ferrybridge/ferry/internal/ferrytest"
	"github.com/ferrybridge/ferry/internal/testnet"
)

// TestLoginToAnUnknownNetworkNamesItSafely: `login` with a network name
// holding a backtick is answered with the name as one code span, as
// `logout` and `reconnect` name it: the backtick must not close the span
// and spill the rest of the answer out of it.
func TestLoginToAnUnknownNetworkNamesItSafely(t *testing.T) {
	h := ferrytest.Start(t, ferrytest.Options{}, testnet.New())
	alice := h.User("alice")
	mgmt := h.ManagementRoom(alice)

	msg := h.Command(alice, mgmt, "login wh`ats*app* carol", "unknown network").Content.AsMessage()
	if !strings.Contains(msg.FormattedBody, "<code>whats*app*</code>") {
		t.Errorf("the unknown network is not named as one code span: %q", msg.FormattedBody)
	}
	if !strings.Contains(msg.FormattedBody, "<code>test</code>") {
		t.Errorf("the answer does not list the networks as code: %q", msg.FormattedBody)
	}
}
