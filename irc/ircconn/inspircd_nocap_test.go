package ircconn_test

import (
	"context"
	"testing"

	"github.com/ferrybridge/ferry/internal/testbed"
	"github.com/ferrybridge/ferry/irc/ircconn"
)

// TestInspIRCdNoCapRequiredSASL: a login that connects only with SASL
// must not register, unauthenticated, on a server that knows no CAP (so
// no SASL); a login with SASL optional goes on without it.
func TestInspIRCdNoCapRequiredSASL(t *testing.T) {
	t.Parallel()
	srv := testbed.StartInspIRCd(t, testbed.InspIRCdOptions{NoFlood: true, WithoutModules: testbed.InspIRCdModulesNeedingCap()})
	if len(srv.Caps) != 0 {
		t.Fatalf("the server offers %q, want no CAP at all", srv.Caps)
	}
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	sasl := ircconn.SASL{Mechanism: "PLAIN", Username: "alice", Password: "secret", Required: true}
	c, err := ircconn.Dial(ctx, ircconn.Config{Addr: srv.Addr, Nick: "alice", SASL: sasl})
	if err == nil {
		c.Close("test over")
		t.Fatal("registered without SASL on a server without CAP, though SASL is required")
	}
	if ircconn.KindOf(err) != ircconn.KindSASLNoCap {
		t.Errorf("failed with %v (kind %v), want KindSASLNoCap", err, ircconn.KindOf(err))
	}

	sasl.Required = false
	c, err = ircconn.Dial(ctx, ircconn.Config{Addr: srv.Addr, Nick: "bob", SASL: sasl})
	if err != nil {
		t.Fatalf("optional SASL on a server without CAP: %v", err)
	}
	c.Close("test over")
}
