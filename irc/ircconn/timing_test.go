package ircconn

import (
	"sync/atomic"
	"testing"
	"time"

	"gopkg.in/irc.v4"
)

// The timing hooks feed Ferry's metrics. These tests check when they are
// called and that their times are in order, never how long anything took.

func TestSendTimedReportsTheWrite(t *testing.T) {
	s := newFakeServer(t)
	c, fc := mustDial(t, s, Config{Nick: "ferry", Rate: time.Hour, Burst: 1}, "")
	written := make(chan time.Time, 2)
	before := time.Now()
	if err := c.SendTimed(msg("PRIVMSG", "#a", "first"), func(at time.Time) { written <- at }); err != nil {
		t.Fatal(err)
	}
	fc.expect("PRIVMSG #a first")
	select {
	case at := <-written:
		if at.Before(before) {
			t.Errorf("written at %v, before SendTimed was called (%v)", at, before)
		}
	case <-time.After(fakeTimeout):
		t.Fatal("written was not called for a line the server received")
	}

	// The token is spent: this line waits, and is dropped by the purge.
	dropped := make(chan time.Time, 1)
	if err := c.SendTimed(msg("PRIVMSG", "#a", "waits"), func(at time.Time) { dropped <- at }); err != nil {
		t.Fatal(err)
	}
	if n := c.PurgeTarget("#a"); n != 1 {
		t.Fatalf("purged %d", n)
	}
	shut(c, fc)
	select {
	case <-dropped:
		t.Error("written was called for a line that was never written")
	default:
	}
	if len(written) != 0 {
		t.Error("written was called twice")
	}
}

func TestLineReadAt(t *testing.T) {
	s := newFakeServer(t)
	var conn atomic.Pointer[Conn]
	type seen struct{ readAt, handled time.Time }
	got := make(chan seen, 1)
	c, fc := mustDial(t, s, Config{Nick: "ferry", Unlimited: true, Handler: func(m *irc.Message) {
		if c := conn.Load(); c != nil && m.Command == "PRIVMSG" {
			got <- seen{c.LineReadAt(), time.Now()}
		}
	}}, "")
	conn.Store(c)
	if c.LineReadAt().IsZero() {
		t.Error("no read time after registration")
	}
	sent := time.Now()
	fc.send(":bob!b@h PRIVMSG #a :hello")
	select {
	case s := <-got:
		if s.readAt.Before(sent) || s.readAt.After(s.handled) {
			t.Errorf("read at %v: want between the server's send (%v) and the handler (%v)", s.readAt, sent, s.handled)
		}
	case <-time.After(fakeTimeout):
		t.Fatal("the handler never got the PRIVMSG")
	}
}
