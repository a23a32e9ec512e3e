package irc

import (
	"bufio"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/ferrybridge/ferry/bridge/network"
)

// loopServer is a minimal IRC server for the connection loop: in mode
// "register" it welcomes every client, in "silent" it accepts and never
// answers, in "refuse" it hangs up at once. accepted receives each
// connection's server end; quits each QUIT line, nicks each NICK line
// after registration.
type loopServer struct {
	ln       net.Listener
	mode     string
	accepted chan net.Conn
	quits    chan string
	nicks    chan string
}

func newLoopServer(t *testing.T, mode string) *loopServer {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &loopServer{ln: ln, mode: mode, accepted: make(chan net.Conn, 16), quits: make(chan string, 16), nicks: make(chan string, 16)}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			nc, err := ln.Accept()
			if err != nil {
				return
			}
			t.Cleanup(func() { nc.Close() })
			s.accepted <- nc
			go s.serve(nc)
		}
	}()
	return s
}

func (s *loopServer) serve(nc net.Conn) {
	defer nc.Close()
	if s.mode == "refuse" {
		return
	}
	nc.SetDeadline(time.Now().Add(20 * time.Second))
	br := bufio.NewReader(nc)
	write := func(line string) { _, _ = nc.Write([]byte(line + "\r\n")) }
	registered := false
	for {
		line, err := br.ReadString('\n')
		if err != nil {
			return
		}
		line = strings.TrimRight(line, "\r\n")
		if s.mode == "silent" {
			continue
		}
		cmd, rest, _ := strings.Cut(line, " ")
		switch cmd {
		case "CAP":
			if strings.HasPrefix(rest, "LS") {
				write(":srv CAP * LS :batch")
			}
		case "USER":
			write(":srv 001 me :Welcome")
			write(":srv 422 me :No MOTD")
			registered = true
		case "NICK":
			if registered {
				s.nicks <- line
			}
		case "QUIT":
			s.quits <- line
			write("ERROR :Closing link")
			return
		}
	}
}

// loopClient is a client of s's network, not yet connected (stateHost is
// secrets_test.go's).
func loopClient(t *testing.T, s *loopServer) *Client {
	t.Helper()
	shortBackoff(t)
	c := New()
	c.host = &stateHost{}
	t.Cleanup(c.cancel)
	cfg := &NetworkConfig{Address: s.ln.Addr().String(), Flood: FloodConfig{Unlimited: true}}
	return newClient(c, cfg, &network.Login{ID: "test/@me:ex.org", User: "@me:ex.org"}, loginMeta{Network: "test", Nick: "me"})
}

// disconnect calls cl.Disconnect, failing the test if it never returns.
func disconnect(t *testing.T, cl *Client) {
	t.Helper()
	returned := make(chan struct{})
	go func() { cl.Disconnect(); close(returned) }()
	select {
	case <-returned:
	case <-time.After(waitLong):
		t.Fatal("Disconnect did not return")
	}
}

// accepted waits for the client's next connection and returns the
// server's end of it.
func accepted(t *testing.T, s *loopServer) net.Conn {
	t.Helper()
	select {
	case c := <-s.accepted:
		return c
	case <-time.After(waitLong):
		t.Fatal("the client did not connect")
		return nil
	}
}

// TestDisconnectWhileConnected: Disconnect quits a connected login, and
// Connect starts the loop again.
func TestDisconnectWhileConnected(t *testing.T) {
	s := newLoopServer(t, "register")
	cl := loopClient(t, s)
	for round := 0; round < 2; round++ {
		cl.Connect(t.Context())
		accepted(t, s)
		waitFor(t, "the connection", func() bool { return cl.currentConn() != nil })
		conn := cl.currentConn()
		disconnect(t, cl)
		select {
		case q := <-s.quits:
			if !strings.Contains(q, "Ferry bridge disconnecting") {
				t.Errorf("quit with %q", q)
			}
		case <-time.After(waitLong):
			t.Fatal("no QUIT")
		}
		if !conn.Ended() || cl.currentConn() != nil {
			t.Fatalf("round %d: after Disconnect, Ended() = %v, currentConn() = %v", round, conn.Ended(), cl.currentConn())
		}
	}
}

// TestDisconnectWhileDialing: Disconnect stops a registration in
// progress, and one waiting out a back-off.
func TestDisconnectWhileDialing(t *testing.T) {
	for _, mode := range []string{"silent", "refuse"} {
		t.Run(mode, func(t *testing.T) {
			s := newLoopServer(t, mode)
			cl := loopClient(t, s)
			cl.Connect(t.Context())
			accepted(t, s)
			disconnect(t, cl)
			if cl.currentConn() != nil {
				t.Fatal("a connection after Disconnect")
			}
		})
	}
}

// TestConnectionEndReconnects: when the server drops a connected login,
// the loop connects again by itself.
func TestConnectionEndReconnects(t *testing.T) {
	s := newLoopServer(t, "register")
	cl := loopClient(t, s)
	cl.Connect(t.Context())
	first := accepted(t, s)
	waitFor(t, "the connection", func() bool { return cl.currentConn() != nil })
	conn := cl.currentConn()
	first.Close()
	accepted(t, s)
	waitFor(t, "a new connection", func() bool { c := cl.currentConn(); return c != nil && c != conn })
	disconnect(t, cl)
}

// TestRegainOnlyWhileNeeded: a login with its wanted nick runs no regain
// timer; once the server renames it, it asks for its nick again, and
// again while it lacks it.
func TestRegainOnlyWhileNeeded(t *testing.T) {
	regainInterval.setForTest(t, 50*time.Millisecond)
	s := newLoopServer(t, "register")
	cl := loopClient(t, s)
	cl.Connect(t.Context())
	srv := accepted(t, s)
	waitFor(t, "the connection", func() bool { return cl.currentNick() == "me" })
	time.Sleep(200 * time.Millisecond) // several intervals
	cl.lock.Lock()
	armed := cl.regain != nil
	cl.lock.Unlock()
	if armed {
		t.Error("a regain timer runs although the login has its nick")
	}
	select {
	case line := <-s.nicks:
		t.Fatalf("asked for a nick it has: %q", line)
	default:
	}

	// Services rename us: the login asks for its nick back, repeatedly.
	if _, err := srv.Write([]byte(":me!u@h NICK Guest1\r\n")); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 2; i++ {
		select {
		case line := <-s.nicks:
			if line != "NICK me" {
				t.Fatalf("sent %q", line)
			}
		case <-time.After(waitLong):
			t.Fatalf("did not ask for its nick (%d)", i)
		}
	}
	disconnect(t, cl)
}
