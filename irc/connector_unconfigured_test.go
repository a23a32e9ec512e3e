package irc

import (
	"context"
	"strings"
	"testing"

	"github.com/ferrybridge/ferry/bridge/network"
)

// TestLoginOfANetworkNoLongerConfiguredSaysSo: a stored login whose
// network the administrator removed from the config could not start,
// and its user was told only "an internal error": the reason is the
// user's to read (in the start notice and in `status`).
func TestLoginOfANetworkNoLongerConfiguredSaysSo(t *testing.T) {
	c := New()
	t.Cleanup(c.cancel)
	c.cfg = &Config{Networks: map[string]*NetworkConfig{"oftc": {Address: "127.0.0.1:1"}}}
	_, err := c.LoadLogin(context.Background(), &network.Login{ID: "libera/@alice:ex.org", User: "@alice:ex.org"})
	if err == nil {
		t.Fatal("a login of a network not configured loaded")
	}
	msg := network.UserMessage(err, "an internal error")
	if !strings.Contains(msg, "`libera` is no longer in Ferry's configuration") {
		t.Errorf("the user is told %q", msg)
	}
}
