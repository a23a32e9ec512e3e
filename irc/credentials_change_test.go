package irc

import (
	"bufio"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/ferrybridge/ferry/bridge/network"
)

// passServer registers every connection, the first one only once release
// is closed, and reports for each whether it came with a PASS.
type passServer struct {
	ln      net.Listener
	release chan struct{}
	gotUser chan struct{}
	passes  chan bool
}

func newPassServer(t *testing.T) *passServer {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &passServer{ln: ln, release: make(chan struct{}), gotUser: make(chan struct{}, 16), passes: make(chan bool, 16)}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for n := 1; ; n++ {
			nc, err := ln.Accept()
			if err != nil {
				return
			}
			t.Cleanup(func() { nc.Close() })
			go s.serve(nc, n == 1)
		}
	}()
	return s
}

func (s *passServer) serve(nc net.Conn, first bool) {
	defer nc.Close()
	br := bufio.NewReader(nc)
	write := func(l string) { _, _ = nc.Write([]byte(l + "\r\n")) }
	pass := false
	for {
		line, err := br.ReadString('\n')
		if err != nil {
			return
		}
		cmd, rest, _ := strings.Cut(strings.TrimRight(line, "\r\n"), " ")
		switch cmd {
		case "PASS":
			pass = true
		case "CAP":
			if strings.HasPrefix(rest, "LS") {
				write(":srv CAP * LS :")
			}
		case "USER":
			s.gotUser <- struct{}{}
			if first {
				<-s.release
			}
			s.passes <- pass
			write(":srv 001 me :Welcome")
			write(":srv 422 me :No MOTD")
		case "QUIT":
			write("ERROR :Closing link")
			return
		}
	}
}

// A password stored while the login is still registering (registration
// takes seconds, and users type `irc password` right after `login`) is
// used at once: the registration under way, which used none, is dropped
// once it completes and the login connects again with it. Before, the
// user was told it reconnects, and nothing did.
func TestPasswordStoredDuringRegistrationIsUsed(t *testing.T) {
	shortBackoff(t)
	s := newPassServer(t)
	c := New()
	c.host = &stateHost{}
	t.Cleanup(c.cancel)
	box, err := newSecretBox(make([]byte, 32))
	if err != nil {
		t.Fatal(err)
	}
	c.cfg = &Config{secrets: box}
	cfg := &NetworkConfig{Address: s.ln.Addr().String(), Flood: FloodConfig{Unlimited: true}}
	cl := newClient(c, cfg, &network.Login{ID: "test/@me:ex.org", User: "@me:ex.org"}, loginMeta{Network: "test", Nick: "me"})
	cl.Connect(t.Context())
	t.Cleanup(cl.Disconnect)
	select {
	case <-s.gotUser:
	case <-time.After(10 * time.Second):
		t.Fatal("no registration")
	}
	sealed, err := c.sealSecret(cl.loginID, secretFieldPassword, "hunter2")
	if err != nil {
		t.Fatal(err)
	}
	cl.saveMeta(func(m *loginMeta) { m.Password, m.LegacyPassword = sealed, "" }) // as cmdPassword does
	cl.reconnect()
	close(s.release)
	if p := <-s.passes; p {
		t.Fatal("the first connection already had a PASS")
	}
	select {
	case p := <-s.passes:
		if !p {
			t.Fatal("the new connection came without the password")
		}
	case <-time.After(3 * time.Second):
		t.Fatalf("the stored password was never used: still on the first connection (connected: %v)", cl.currentConn() != nil)
	}
}
