package irc

import (
	"bufio"
	"context"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rs/zerolog"

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

// greetingServer is a one-connection IRC server that answers USER with
// greeting, each element one write (lines joined by CRLF), pausing pause
// between writes; it ignores everything else.
func greetingServer(t *testing.T, pause time.Duration, greeting ...string) string {
	t.Helper()
	return oneConnServer(t, func(nc net.Conn, br *bufio.Reader) {
		for {
			line, err := br.ReadString('\n')
			if err != nil {
				return
			}
			if !strings.HasPrefix(line, "USER") {
				continue
			}
			for i, w := range greeting {
				if i > 0 {
					time.Sleep(pause)
				}
				_, _ = nc.Write([]byte(w + "\r\n"))
			}
		}
	})
}

// slowHost is a fakeHost whose SaveLogin (a database write) and report
// of the connected state take a while.
type slowHost struct {
	fakeHost
	saveDelay, connectedDelay time.Duration
}

func (h *slowHost) SaveLogin(context.Context, *network.Login) error {
	time.Sleep(h.saveDelay)
	return nil
}

func (h *slowHost) ReportState(_ network.LoginID, st network.State) {
	if st.Kind == network.StateConnected {
		time.Sleep(h.connectedDelay)
	}
}

// connectSlowly connects a login "alice" (in #saved, with a PM with
// bob!b@h already, so that his PMs need no save) through host to addr.
func connectSlowly(t *testing.T, host *slowHost, addr string) *Client {
	t.Helper()
	c := New()
	c.host = host
	t.Cleanup(c.cancel)
	login := &network.Login{ID: "test/@alice:ex.org", User: "@alice:ex.org"}
	yes := true
	meta := loginMeta{Network: "test", Nick: "alice", Channels: map[string]savedChannel{"#saved": {Name: "#saved"}},
		PMs: map[string]pmPeer{"bob": {Ident: "h:b@h", Nick: "bob"}}}
	cl := newClient(c, &NetworkConfig{Address: addr, PMFromStrangers: &yes, Flood: FloodConfig{Unlimited: true}}, login, meta)
	c.clients[login.ID] = cl
	cl.Connect(context.Background())
	t.Cleanup(cl.Disconnect)
	return cl
}

// waitForPM waits up to within for host to be handed a bridged message.
func waitForPM(t *testing.T, host *slowHost, within time.Duration, what string) {
	t.Helper()
	deadline := time.Now().Add(within)
	for time.Now().Before(deadline) {
		for _, evt := range host.take() {
			if _, ok := evt.(*network.Message); ok {
				return
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("%s was not bridged within %v", what, within)
}

// A PM that arrives while onConnected saves the casemapping it has just
// learned (a database write) finds the connection published and is
// bridged at once: not dropped for want of a connection, nor held until
// the write is done.
func TestPMArrivingWhileLoginIsSavedIsBridged(t *testing.T) {
	addr := greetingServer(t, 100*time.Millisecond,
		":srv 001 alice :Welcome alice!alice@host\r\n:srv 005 alice CHANTYPES=# CASEMAPPING=ascii :are supported\r\n:srv 422 alice :No MOTD",
		":bob!b@h PRIVMSG alice :hello right after connect")
	host := &slowHost{saveDelay: 1500 * time.Millisecond}
	connectSlowly(t, host, addr)
	waitForPM(t, host, time.Second, "the PM that arrived while the login was being saved")
}

// Lines that come in the same read as the end of the MOTD are handed over
// by the reader at once, before the connection loop has published the
// connection (here: while the connected state is being reported). They
// are held until it has, not handled without a connection or a nick: the
// PM is bridged, and the bouncer's JOIN of a saved channel is taken as
// ours.
func TestLinesBeforeConnectionIsPublishedAreHeld(t *testing.T) {
	addr := greetingServer(t, 0,
		":srv 001 alice :Welcome alice!alice@host\r\n:srv 005 alice CHANTYPES=# CASEMAPPING=ascii :are supported\r\n:srv 422 alice :No MOTD\r\n"+
			":alice!alice@host JOIN #saved\r\n:bob!b@h PRIVMSG alice :hello in the same read")
	host := &slowHost{connectedDelay: 300 * time.Millisecond}
	cl := connectSlowly(t, host, addr)
	waitForPM(t, host, 3*time.Second, "the PM read with the end of the MOTD")
	if !cl.inChannel("#saved") {
		t.Fatal("the JOIN of #saved read with the end of the MOTD was not taken as ours")
	}
}

// A message that finds the login without a connection is dropped with a
// log line, not silently.
func TestMessageWithoutConnectionIsLogged(t *testing.T) {
	cl, host := channelClient(t, "bob")
	var buf strings.Builder
	cl.log = zerolog.New(&buf)
	cl.handle(line(t, ":bob!b@h PRIVMSG #c :hello"))
	if evts := host.take(); len(evts) != 0 {
		t.Fatalf("bridged without a connection: %v", evts)
	}
	if !strings.Contains(buf.String(), "no connection") || !strings.Contains(buf.String(), `"source":"bob"`) {
		t.Fatalf("no log line saying why the message was dropped: %q", buf.String())
	}
}

// TestFlappingConnectionBacksOff: a server that welcomes every connection
// and drops it soon after must see the back-off grow, not a reconnect
// every backoffBase forever.
func TestFlappingConnectionBacksOff(t *testing.T) {
	s := newLoopServer(t, "register")
	cl := loopClient(t, s)
	backoffBase.setForTest(t, 20*time.Millisecond)
	backoffMax.setForTest(t, time.Second)
	var n atomic.Int32
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			select {
			case nc := <-s.accepted:
				n.Add(1)
				go func() { time.Sleep(100 * time.Millisecond); nc.Close() }()
			case <-stop:
				return
			}
		}
	}()
	cl.Connect(t.Context())
	time.Sleep(4 * time.Second)
	close(stop)
	wg.Wait()
	disconnect(t, cl)
	// Growing back-off: about 10 connections; a fixed one: over 30.
	if got := n.Load(); got > 14 {
		t.Fatalf("%d connections in 4 s to a server that drops every connection after registration: the back-off does not grow", got)
	}
}

// TestSASLRetriedWhenServerLacksSASL: a server that offers no SASL for a
// while (its services split off) does not park a SASL login as having
// bad credentials: it is retried with the back-off, and the state says why.
func TestSASLRetriedWhenServerLacksSASL(t *testing.T) {
	shortBackoff(t)
	s := newCapListServer(t, "")
	host := connectSASLLogin(t, s.ln.Addr().String())
	waitFor(t, "a second connection attempt", func() bool { return s.conns.Load() >= 2 })
	host.mu.Lock()
	defer host.mu.Unlock()
	var told bool
	for _, st := range host.states {
		if st.Kind == network.StateBadCredentials {
			t.Errorf("state %v %q: the login waits for credentials the user need not change", st.Kind, st.Message)
		}
		told = told || st.Kind == network.StateTransientDisconnect && strings.Contains(st.Message, "services may be down")
	}
	if !told {
		t.Errorf("no transient state says why the login is retried: %+v", host.states)
	}
}
