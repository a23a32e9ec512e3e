package irc

import (
	"strings"
	"testing"
	"time"

	"github.com/ferrybridge/ferry/bridge/network"
	"github.com/ferrybridge/ferry/internal/testbed"
)

// TestSASLLoginOnAServerWithoutCapWaitsForTheAdmin: a login that connects
// only with SASL, on a server that knows no CAP, can never succeed, and
// each try registers for a moment without SASL, the user's own host shown
// to the network. So it is not retried: the state says what the admin
// must change, and the login waits for the user's `reconnect`.
func TestSASLLoginOnAServerWithoutCapWaitsForTheAdmin(t *testing.T) {
	shortBackoff(t)
	srv := testbed.StartInspIRCd(t, testbed.InspIRCdOptions{NoFlood: true, WithoutModules: testbed.InspIRCdModulesNeedingCap()})
	host := connectSASLLogin(t, srv.Addr)

	stopped := func() int {
		host.mu.Lock()
		defer host.mu.Unlock()
		for i, st := range host.states {
			if st.Kind == network.StateStopped {
				return i
			}
		}
		return -1
	}
	waitFor(t, "the login to stop", func() bool { return stopped() >= 0 })
	// Ten back-offs' time: a login that retried would have tried again.
	time.Sleep(10 * backoffBase.get())
	i := stopped()
	host.mu.Lock()
	defer host.mu.Unlock()
	if st := host.states[i]; !strings.Contains(st.Message, "`sasl: false`") || !strings.Contains(st.Message, "reconnect") {
		t.Errorf("the stopped state says %q; want what the admin must set and how to connect again", st.Message)
	}
	if later := host.states[i+1:]; len(later) != 0 {
		t.Errorf("after stopping, the login went on: %+v", later)
	}
}

// connectSASLLogin connects a login that connects only with SASL to the
// server at addr, and returns the host its states are reported to.
func connectSASLLogin(t *testing.T, addr string) *stateHost {
	t.Helper()
	c := New()
	host := &stateHost{}
	c.host = host
	t.Cleanup(c.cancel)
	box, _ := newSecretBox(make([]byte, 32))
	c.cfg = &Config{secrets: box}
	cfg := &NetworkConfig{Address: addr, SASL: true, Flood: FloodConfig{Unlimited: true}}
	sealed, _ := box.seal("test/@me:ex.org", secretFieldSASL, "pw")
	cl := newClient(c, cfg, &network.Login{ID: "test/@me:ex.org", User: "@me:ex.org"}, loginMeta{Network: "test", Nick: "me", SASLAccount: "me", SASLPassword: sealed})
	cl.Connect(t.Context())
	t.Cleanup(cl.Disconnect)
	return host
}
