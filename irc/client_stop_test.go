package irc

import (
	"context"
	"testing"
	"time"

	"github.com/ferrybridge/ferry/bridge/network"
)

// TestNoConnectAfterLogoutOrReplacement: a client logged out, or replaced
// by a new load of its login, is no longer the connector's; a Connect
// reaching it afterwards (the core's `reconnect` holding it from before)
// must not dial a connection nobody would close. The login's current
// client still connects.
func TestNoConnectAfterLogoutOrReplacement(t *testing.T) {
	s := newCapListServer(t, "")
	c := New()
	c.host = &stateHost{}
	t.Cleanup(c.cancel)
	cfg := &NetworkConfig{Address: s.ln.Addr().String(), Flood: FloodConfig{Unlimited: true}}
	c.cfg = &Config{Networks: map[string]*NetworkConfig{"test": cfg}}
	login := &network.Login{ID: "test/@me:ex.org", User: "@me:ex.org"}
	load := func() *Client {
		t.Helper()
		client, err := c.LoadLogin(context.Background(), login)
		if err != nil {
			t.Fatal(err)
		}
		cl := client.(*Client)
		t.Cleanup(cl.Disconnect)
		return cl
	}

	loggedOut := load()
	if err := loggedOut.Logout(context.Background()); err != nil {
		t.Fatal(err)
	}
	loggedOut.Connect(context.Background())
	replaced := load()
	load()
	replaced.Connect(context.Background())
	time.Sleep(500 * time.Millisecond)
	if n := s.conns.Load(); n != 0 {
		t.Fatalf("%d connections from clients logged out or replaced", n)
	}

	current := load()
	current.Connect(context.Background())
	waitFor(t, "the current client to connect", func() bool { return current.currentNick() != "" })
	if n := s.conns.Load(); n != 1 {
		t.Errorf("%d connections, want the current client's only", n)
	}
}
