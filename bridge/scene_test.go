package bridge_test

import (
	"testing"
	"time"

	"maunium.net/go/mautrix/id"

	"github.com/ferrybridge/ferry/bridge/network"
	"github.com/ferrybridge/ferry/internal/ferrytest"
	"github.com/ferrybridge/ferry/internal/testbed"
	"github.com/ferrybridge/ferry/internal/testnet"
)

// scene is how most end-to-end tests begin: Ferry with the test network,
// and alice logged in to it through her management room.
type scene struct {
	h     *ferrytest.Harness
	tn    *testnet.Connector
	alice *testbed.Client
	mgmt  id.RoomID
	cl    *testnet.Client
	// proxy stands between Ferry and Dendrite when asked for.
	proxy *testbed.FaultProxy
	// portal is alice's chat with bob on the test network; bob is his ghost.
	portal network.PortalKey
	bob    id.UserID
}

func newScene(t *testing.T, withProxy bool) *scene {
	t.Helper()
	return newSceneWith(t, withProxy, ferrytest.Options{})
}

// newSceneWith is newScene with the harness's options (its HomeserverVia
// is the scene's own when withProxy is set).
func newSceneWith(t *testing.T, withProxy bool, opts ferrytest.Options) *scene {
	t.Helper()
	s := &scene{tn: testnet.New(), portal: network.PortalKey{Network: testnet.ID, Chat: "chat1", Receiver: "alice"}}
	if withProxy {
		opts.HomeserverVia = func(t testing.TB, url string) string {
			s.proxy = testbed.NewFaultProxy(t, url)
			return s.proxy.URL()
		}
	}
	s.h = ferrytest.Start(t, opts, s.tn)
	s.alice = s.h.User("alice")
	s.mgmt = s.h.ManagementRoom(s.alice)
	s.cl = loginTest(t, s.h, s.tn, s.alice, s.mgmt, "alice")
	s.bob = s.h.Bridge.Ghosts.MXID(network.GhostKey{Network: testnet.ID, User: "bob"})
	return s
}

// nothingSent fails t if anything reached the network so far.
func (s *scene) nothingSent(t *testing.T) {
	t.Helper()
	select {
	case out := <-s.cl.Outbox:
		t.Errorf("the network got %+v", out)
	default:
	}
}

// openPortal has bob say body, which creates the portal; alice joins it.
func (s *scene) openPortal(t *testing.T, body string) id.RoomID {
	t.Helper()
	if err := s.cl.Handle(s.h.Context(time.Minute), textMessage(s.portal, "m0", "bob", time.Now(), body)); err != nil {
		t.Fatal(err)
	}
	room := portalInvite(t, s.alice, s.mgmt)
	s.alice.Join(t, room.String())
	s.alice.WaitForEvent(t, room, waitLong, bodyIs(s.bob, body))
	return room
}
