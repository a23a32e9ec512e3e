package ircconn

import (
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"gopkg.in/irc.v4"
)

// The timing hooks feed Ferry's metrics. These tests check when they are
// called and that their times are in order, never how long anything took.

// writes reports to written the time of a tracked line's write, and
// nothing for a line dropped.
func writes(written chan<- time.Time) LineDone {
	return func(at time.Time, err error) {
		if err == nil {
			written <- at
		}
	}
}

func TestTrackedLineReportsTheWrite(t *testing.T) {
	s := newFakeServer(t)
	c, fc := mustDial(t, s, Config{Nick: "ferry", Rate: time.Hour, Burst: 1}, "")
	written := make(chan time.Time, 2)
	before := time.Now()
	if err := c.SendTracked(msg("PRIVMSG", "#a", "first"), writes(written)); err != nil {
		t.Fatal(err)
	}
	fc.expect("PRIVMSG #a first")
	select {
	case at := <-written:
		if at.Before(before) {
			t.Errorf("written at %v, before SendTracked was called (%v)", at, before)
		}
	case <-time.After(fakeTimeout):
		t.Fatal("written was not called for a line the server received")
	}

	// The token is spent: this line waits, and is dropped by the purge.
	dropped := make(chan time.Time, 1)
	if err := c.SendTracked(msg("PRIVMSG", "#a", "waits"), writes(dropped)); err != nil {
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

// TestSendTrackedSettlesEveryLine: every tracked line hears once what
// became of it: written, purged, or lost with the connection.
func TestSendTrackedSettlesEveryLine(t *testing.T) {
	s := newFakeServer(t)
	c, fc := mustDial(t, s, Config{Nick: "ferry", Rate: time.Hour, Burst: 1}, "")
	type outcome struct {
		text string
		err  error
	}
	settled := make(chan outcome, 8)
	send := func(target, text string) {
		t.Helper()
		if err := c.SendTracked(msg("PRIVMSG", target, text), func(at time.Time, err error) {
			if err == nil && at.IsZero() {
				t.Errorf("%q written at the zero time", text)
			}
			settled <- outcome{text, err}
		}); err != nil {
			t.Fatal(err)
		}
	}
	next := func() outcome {
		t.Helper()
		select {
		case o := <-settled:
			return o
		case <-time.After(fakeTimeout):
			t.Fatal("a tracked line was never settled")
			return outcome{}
		}
	}
	send("#a", "written")
	fc.expect("PRIVMSG #a written")
	if o := next(); o.text != "written" || o.err != nil {
		t.Errorf("first outcome %+v, want written", o)
	}
	// The token is spent: these wait for an hour.
	send("#a", "purged")
	send("#b", "lost")
	c.PurgeTarget("#a")
	if o := next(); o.text != "purged" || !errors.Is(o.err, ErrPurged) {
		t.Errorf("outcome %+v, want purged", o)
	}
	fc.nc.Close()
	<-c.Done()
	if o := next(); o.text != "lost" || !errors.Is(o.err, ErrClosed) {
		t.Errorf("outcome %+v, want lost with the connection", o)
	}
	if len(settled) != 0 {
		t.Errorf("a line was settled twice: %+v", <-settled)
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
