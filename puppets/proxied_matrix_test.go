package puppets

import (
	"testing"

	"github.com/rs/zerolog"
	"maunium.net/go/mautrix/appservice"

	"github.com/ferrybridge/ferry/internal/testbed"
)

// proxiedMatrix is a Matrix whose requests reach a real Dendrite through
// a fault proxy, with the appservice and the homeserver at hand for the
// test's own requests.
type proxiedMatrix struct {
	hs    *testbed.Dendrite
	proxy *testbed.FaultProxy
	as    *appservice.AppService
	m     *Matrix
}

// newProxiedMatrix starts Dendrite, a fault proxy in front of it and a
// Matrix through that proxy, logging at warn level and above.
func newProxiedMatrix(t *testing.T) *proxiedMatrix {
	t.Helper()
	hs, reg := testbed.StartDendriteForAppservice(t)
	proxy := testbed.NewFaultProxy(t, hs.URL)
	as := testbed.NewAppservice(t, reg, proxy.URL())
	return &proxiedMatrix{hs: hs, proxy: proxy, as: as, m: NewMatrix(as, zerolog.New(zerolog.NewTestWriter(t)).Level(zerolog.WarnLevel))}
}
