package irc

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/ferrybridge/ferry/bridge/network"
)

// whoisOn runs `irc whois test bob` for cl, with ctx as the command's.
func whoisOn(ctx context.Context, cl *Client) error {
	cl.c.cfg = &Config{Networks: map[string]*NetworkConfig{"test": cl.cfg}}
	return cl.c.cmdWhois(ctx, &network.CommandEvent{
		User: cl.login.User, Args: []string{"test", "bob"},
		Logins: []*network.Login{{ID: cl.loginID}},
		Client: func(network.LoginID) (network.Client, bool) { return cl, true },
		Reply:  func(string) {},
	})
}

// TestWhoisUnanswered: a server that never answers the labeled WHOIS
// ends the command after whoisTimeout with "no answer", not when the
// command's context ends (the core gives commands a long one).
func TestWhoisUnanswered(t *testing.T) {
	whoisTimeout.setForTest(t, 300*time.Millisecond)
	err := whoisWithin15s(t, func(string, *scriptedPeer) {})
	if msg := network.UserMessage(err, ""); !strings.Contains(msg, "no answer from test") {
		t.Errorf("an unanswered WHOIS ended with %v (told %q)", err, msg)
	}
}

// TestWhoisConnectionDrops: the connection ending while the WHOIS waits
// ends the wait at once (ircconn fails the pending labels), and the
// user is told the connection dropped.
func TestWhoisConnectionDrops(t *testing.T) {
	err := whoisWithin15s(t, func(line string, peer *scriptedPeer) {
		if strings.Contains(line, "WHOIS") {
			peer.hangUp()
		}
	})
	if msg := network.UserMessage(err, ""); !strings.Contains(msg, "dropped") {
		t.Errorf("a WHOIS cut short ended with %v (told %q)", err, msg)
	}
}

// whoisWithin15s runs `irc whois` against a labeled-response server that
// answers as script says, under a 15 s command context, and fails the
// test if the command waited for that context.
func whoisWithin15s(t *testing.T, script func(line string, peer *scriptedPeer)) error {
	t.Helper()
	cl, _, _ := clientOn(t, scriptedServer(t, "labeled-response batch", script))
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	err := whoisOn(ctx, cl)
	if ctx.Err() != nil || errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("the WHOIS waited for the command's context: %v", err)
	}
	return err
}
