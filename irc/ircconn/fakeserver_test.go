package ircconn

import (
	"bufio"
	"context"
	"net"
	"strings"
	"testing"
	"time"

	"gopkg.in/irc.v4"
)

// fakeServer is a scripted IRC server on a loopback listener: the test
// reads what the client sent and writes the server's side of a transcript.
// Every read has a generous deadline so a broken client fails the test
// instead of hanging it; nothing here measures time.
type fakeServer struct {
	ln    net.Listener
	conns chan net.Conn
}

const fakeTimeout = 10 * time.Second

func newFakeServer(t testing.TB) *fakeServer {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &fakeServer{ln: ln, conns: make(chan net.Conn, 16)}
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				close(s.conns)
				return
			}
			s.conns <- c
		}
	}()
	t.Cleanup(func() {
		ln.Close()
		for c := range s.conns {
			c.Close()
		}
	})
	return s
}

func (s *fakeServer) addr() string { return s.ln.Addr().String() }

// fakeClient is the server's end of one client connection.
type fakeClient struct {
	t  testing.TB
	nc net.Conn
	br *bufio.Reader
}

func (s *fakeServer) accept(t testing.TB) *fakeClient {
	t.Helper()
	select {
	case c, ok := <-s.conns:
		if !ok {
			t.Fatal("fake server: listener closed")
		}
		t.Cleanup(func() { c.Close() })
		return &fakeClient{t: t, nc: c, br: bufio.NewReader(c)}
	case <-time.After(fakeTimeout):
		t.Fatal("fake server: no connection")
	}
	return nil
}

// readLine returns the next line without CRLF, or "" at EOF.
func (f *fakeClient) readLine() string {
	f.t.Helper()
	f.nc.SetReadDeadline(time.Now().Add(fakeTimeout))
	line, err := f.br.ReadString('\n')
	if err != nil {
		if line == "" {
			return ""
		}
		f.t.Fatalf("fake server: partial line %q: %v", line, err)
	}
	if !strings.HasSuffix(line, "\r\n") {
		f.t.Fatalf("fake server: line without CRLF: %q", line)
	}
	return strings.TrimSuffix(line, "\r\n")
}

// expect reads one line and checks it equals want.
func (f *fakeClient) expect(want string) {
	f.t.Helper()
	if got := f.readLine(); got != want {
		f.t.Fatalf("fake server: got %q, want %q", got, want)
	}
}

// expectMsg reads one line and returns it parsed.
func (f *fakeClient) expectMsg() *irc.Message {
	f.t.Helper()
	line := f.readLine()
	m, err := irc.ParseMessage(line)
	if err != nil {
		f.t.Fatalf("fake server: unparsable %q: %v", line, err)
	}
	return m
}

func (f *fakeClient) send(lines ...string) {
	f.t.Helper()
	for _, l := range lines {
		if _, err := f.nc.Write([]byte(l + "\r\n")); err != nil {
			f.t.Fatalf("fake server: write: %v", err)
		}
	}
}

// expectEOF reads until the client closes its side, failing on any line.
func (f *fakeClient) expectEOF() {
	f.t.Helper()
	if line := f.readLine(); line != "" {
		f.t.Fatalf("fake server: got %q, want EOF", line)
	}
}

// greet answers registration without caps: 001, 005 and 422.
func (f *fakeClient) greet(nick string) {
	f.send(":irc.test 001 "+nick+" :Welcome to the Test IRC Network "+nick+"!u@test.host",
		":irc.test 005 "+nick+" CASEMAPPING=rfc1459 CHANTYPES=# NICKLEN=30 PREFIX=(ov)@+ :are supported by this server",
		":irc.test 422 "+nick+" :MOTD File is missing")
}

// registerPlain consumes the client's opening lines and registers it with
// the given caps offered (ACKing whatever it asks for).
func (f *fakeClient) registerPlain(nick, offered string) {
	f.t.Helper()
	f.expect("CAP LS 302")
	f.expect("NICK " + nick)
	f.expectMsg() // USER
	f.send(":irc.test CAP * LS :" + offered)
	if offered != "" {
		req := f.expectMsg()
		if req.Command != "CAP" || req.Param(0) != "REQ" {
			f.t.Fatalf("fake server: want CAP REQ, got %v", req)
		}
		f.send(":irc.test CAP " + nick + " ACK :" + req.Trailing())
	}
	f.expect("CAP END")
	f.greet(nick)
}

type dialResult struct {
	c   *Conn
	err error
}

// dialAsync dials in a goroutine so the test can play the server.
func dialAsync(cfg Config) <-chan dialResult {
	ch := make(chan dialResult, 1)
	go func() {
		c, err := Dial(context.Background(), cfg)
		ch <- dialResult{c, err}
	}()
	return ch
}

func waitDial(t testing.TB, ch <-chan dialResult) (*Conn, error) {
	t.Helper()
	select {
	case r := <-ch:
		return r.c, r.err
	case <-time.After(fakeTimeout):
		t.Fatal("Dial did not return")
	}
	return nil, nil
}

// mustDial is dialAsync + registerPlain + waitDial.
func mustDial(t testing.TB, s *fakeServer, cfg Config, offered string) (*Conn, *fakeClient) {
	t.Helper()
	if cfg.Addr == "" {
		cfg.Addr = s.addr()
	}
	ch := dialAsync(cfg)
	fc := s.accept(t)
	fc.registerPlain(cfg.Nick, offered)
	c, err := waitDial(t, ch)
	if err != nil {
		t.Fatalf("Dial: %v", err)
	}
	t.Cleanup(func() { shut(c, fc) })
	return c, fc
}

// shut ends a test connection quickly: the fake server hangs up first, so
// Close need not wait QuitTimeout for it.
func shut(c *Conn, fc *fakeClient) {
	fc.nc.Close()
	c.Close("")
	<-c.Done()
}
