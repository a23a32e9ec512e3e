package bridge_test

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ferrybridge/ferry/bridge"
	"github.com/ferrybridge/ferry/bridge/network"
	"github.com/ferrybridge/ferry/internal/testnet"
)

// heldLoadNet is the test network whose LoadLogin, once held is set,
// waits for release: a network slow to load a login. It keeps the
// client its held load returned.
type heldLoadNet struct {
	*testnet.Connector
	held    chan struct{} // closed as a held load begins
	release chan struct{}
	lock    sync.Mutex
	loaded  network.Client
}

func (n *heldLoadNet) LoadLogin(ctx context.Context, login *network.Login) (network.Client, error) {
	n.lock.Lock()
	held := n.held
	n.lock.Unlock()
	if held == nil {
		return n.Connector.LoadLogin(ctx, login)
	}
	close(held)
	<-n.release
	cl, err := n.Connector.LoadLogin(ctx, login)
	n.lock.Lock()
	n.loaded = cl
	n.lock.Unlock()
	return cl, err
}

// TestLogoutOfAnUnstartedLoginBeingRetriedLogsItsClientOut: alice's
// `reconnect` loads a login Ferry could not start while she logs out of
// it from another room. The logout waits for that load: the client the
// network loaded is logged out, not left behind unknown to Ferry (a
// WhatsApp client of the account would stay in the network's memory,
// its device's keys kept, another user's link of the account refused).
func TestLogoutOfAnUnstartedLoginBeingRetriedLogsItsClientOut(t *testing.T) {
	n := &heldLoadNet{Connector: testnet.New()}
	s := unstartedSceneOn(t, n, n.Connector)
	// The new room is alice's management room now; the first one takes
	// commands with the prefix.
	other := s.h.ManagementRoom(s.alice)
	s.tn.FailLoad.Store(nil)
	held := make(chan struct{})
	n.release = make(chan struct{})
	var releaseOnce sync.Once
	release := func() { releaseOnce.Do(func() { close(n.release) }) }
	t.Cleanup(release)
	n.lock.Lock()
	n.held = held
	n.lock.Unlock()
	// The logout lets the load go on once it waits for it.
	bridge.HoldLoginFlows(t, func(point string) {
		if point == "unstarted awaited" {
			release()
		}
	})
	s.alice.SendText(t, s.mgmt, "!ferry reconnect test alice")
	select {
	case <-held:
	case <-time.After(waitLong):
		t.Fatal("the retry never loaded the login")
	}
	answer := s.h.Command(s.alice, other, "logout test alice", "(alice)").Content.AsMessage().Body
	release()
	if !strings.Contains(answer, "Logged out of Testnet (alice)") {
		t.Errorf("the logout during the retry answered %q; want the started login logged out", answer)
	}
	s.h.WaitForBotNotice(s.alice, s.mgmt, "Started Testnet (alice)")
	n.lock.Lock()
	loaded, _ := n.loaded.(*testnet.Client)
	n.lock.Unlock()
	if loaded == nil || !loaded.LoggedOut.Load() {
		t.Errorf("the client the retry loaded was not logged out (%v)", loaded)
	}
	s.h.Command(s.alice, other, "status", "You have no logins")
}
