package ircconn

import (
	"testing"
	"time"
)

// A CASEMAPPING change announced while chat lines wait for flood control
// regroups them: under rfc1459 "#Bob[" folds to "#bob{", under ascii to
// "#bob[", and without the regrouping the lines queued before and after
// the change would sit in two queues, served in turn with #x's.
func TestCaseMappingChangeKeepsQueuedOrder(t *testing.T) {
	s := newFakeServer(t)
	// One token and a refill far beyond the test: after the first line,
	// every chat line waits in the queue.
	c, fc := mustDial(t, s, Config{Nick: "ferry", Rate: time.Hour, Burst: 1}, "")
	defer shut(c, fc)
	send := func(target, text string) {
		t.Helper()
		if err := c.Send(msg("PRIVMSG", target, text)); err != nil {
			t.Fatal(err)
		}
	}
	send("#x", "first")
	fc.expect("PRIVMSG #x first")
	send("#Bob[", "b1")
	send("#Bob[", "b2")
	send("#x", "x1")

	announceASCII(t, c, fc)
	send("#Bob[", "b3")
	send("#x", "x2")

	c.wmu.Lock()
	got := drain(&c.q)
	c.wmu.Unlock()
	// Round-robin between the two channels, each in the order sent.
	want := []string{"PRIVMSG #Bob[ b1", "PRIVMSG #x x1", "PRIVMSG #Bob[ b2", "PRIVMSG #x x2", "PRIVMSG #Bob[ b3"}
	if !equalStrings(got, want) {
		t.Errorf("queued lines in the order %q\nwant %q", got, want)
	}
}

// After a CASEMAPPING change, leaving a channel drops every line still
// queued for it, those queued before the change included.
func TestCaseMappingChangePurgesWholeChannel(t *testing.T) {
	s := newFakeServer(t)
	c, fc := mustDial(t, s, Config{Nick: "ferry", Rate: time.Hour, Burst: 1}, "")
	defer shut(c, fc)
	for _, text := range []string{"first", "b1"} {
		if err := c.Send(msg("PRIVMSG", "#Bob[", text)); err != nil {
			t.Fatal(err)
		}
	}
	fc.expect("PRIVMSG #Bob[ first")
	announceASCII(t, c, fc)
	if err := c.Send(msg("PRIVMSG", "#Bob[", "b2")); err != nil {
		t.Fatal(err)
	}
	if n := c.PurgeTarget("#Bob["); n != 2 {
		t.Errorf("PurgeTarget dropped %d lines, want 2 (one queued before the change, one after)", n)
	}
}

// announceASCII has the server announce CASEMAPPING=ascii and waits until
// the connection has read it.
func announceASCII(t *testing.T, c *Conn, fc *fakeClient) {
	t.Helper()
	fc.send(":irc.test 005 ferry CASEMAPPING=ascii :are supported by this server")
	for c.ISupport().CaseMapping != CaseMappingASCII {
		select {
		case <-c.Done():
			t.Fatalf("connection ended: %v", c.Err())
		case <-time.After(time.Millisecond):
		}
	}
}
