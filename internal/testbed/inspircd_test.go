package testbed

import (
	"bufio"
	"crypto/tls"
	"net"
	"slices"
	"strings"
	"testing"
	"time"
)

// ircLine reads lines until one contains want, answering PINGs.
func ircLine(t *testing.T, nc net.Conn, br *bufio.Reader, want string) string {
	t.Helper()
	nc.SetReadDeadline(time.Now().Add(15 * time.Second))
	for {
		line, err := br.ReadString('\n')
		if err != nil {
			t.Fatalf("waiting for %q: %v", want, err)
		}
		if strings.HasPrefix(line, "PING ") {
			nc.Write([]byte("PONG " + strings.TrimPrefix(line, "PING ")))
		}
		if strings.Contains(line, want) {
			return strings.TrimRight(line, "\r\n")
		}
	}
}

func TestInspIRCd(t *testing.T) {
	t.Parallel()
	s := StartInspIRCd(t, InspIRCdOptions{TLS: true, ChanHistory: true, Password: "sekrit",
		OperName: "admin", OperPassword: "operpw"})
	t.Logf("InspIRCd at %s (TLS %s) offers: %s", s.Addr, s.TLSAddr, strings.Join(s.Caps, " "))

	// The modules in the config loaded: each of these caps comes from one.
	for _, want := range []string{"server-time", "echo-message", "message-tags", "batch",
		"labeled-response", "cap-notify", "multi-prefix", "userhost-in-names",
		"account-notify", "away-notify", "extended-join", "chghost", "setname"} {
		if !slices.Contains(s.Caps, want) {
			t.Errorf("cap %q not offered; offered %v", want, s.Caps)
		}
	}

	// TLS with the throwaway certificate, verified against CertPool; the
	// password and the oper block work.
	nc, err := tls.Dial("tcp", s.TLSAddr, &tls.Config{RootCAs: s.CertPool(), ServerName: s.ServerName})
	if err != nil {
		t.Fatalf("TLS dial with the test CA: %v", err)
	}
	defer nc.Close()
	br := bufio.NewReader(nc)
	nc.Write([]byte("PASS sekrit\r\nNICK tlsuser\r\nUSER u 0 * :u\r\n"))
	ircLine(t, nc, br, " 001 tlsuser ")
	ircLine(t, nc, br, "NETWORK="+s.Network)
	nc.Write([]byte("OPER admin operpw\r\n"))
	ircLine(t, nc, br, " 381 tlsuser ")

	// A wrong password is refused.
	bad, err := net.Dial("tcp", s.Addr)
	if err != nil {
		t.Fatal(err)
	}
	defer bad.Close()
	bad.Write([]byte("PASS wrong\r\nNICK badpass\r\nUSER u 0 * :u\r\n"))
	ircLine(t, bad, bufio.NewReader(bad), "ERROR")
}

func TestInspIRCdChanHistory(t *testing.T) {
	t.Parallel()
	s := StartInspIRCd(t, InspIRCdOptions{ChanHistory: true, NoFlood: true})
	a, err := net.Dial("tcp", s.Addr)
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	ar := bufio.NewReader(a)
	a.Write([]byte("NICK alice\r\nUSER a 0 * :a\r\n"))
	ircLine(t, a, ar, " 001 alice ")
	// chanhistory keeps history only in channels with mode +H.
	a.Write([]byte("JOIN #hist\r\nMODE #hist +H 10:1d\r\nPRIVMSG #hist :remember me\r\n"))
	ircLine(t, a, ar, "MODE #hist")

	b, err := net.Dial("tcp", s.Addr)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	br := bufio.NewReader(b)
	// InspIRCd completes registrations on its once-a-second tick, and
	// commands sent before 001 are refused with 451: wait for it.
	b.Write([]byte("NICK bob\r\nUSER b 0 * :b\r\n"))
	ircLine(t, b, br, " 001 bob ")
	b.Write([]byte("JOIN #hist\r\n"))
	ircLine(t, b, br, "remember me")
}

// TestInspIRCdRestart: Kill drops every client; Restart brings the server
// back on the same address.
func TestInspIRCdRestart(t *testing.T) {
	t.Parallel()
	s := StartInspIRCd(t, InspIRCdOptions{NoFlood: true})
	addr := s.Addr
	a, err := net.Dial("tcp", s.Addr)
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	ar := bufio.NewReader(a)
	a.Write([]byte("NICK alice\r\nUSER a 0 * :a\r\n"))
	ircLine(t, a, ar, " 001 alice ")
	s.Kill()
	a.SetReadDeadline(time.Now().Add(10 * time.Second))
	for {
		if _, err := ar.ReadString('\n'); err != nil {
			break // the connection dropped
		}
	}
	s.Restart(t)
	if s.Addr != addr {
		t.Errorf("address changed from %s to %s", addr, s.Addr)
	}
	b, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	b.Write([]byte("NICK alice\r\nUSER a 0 * :a\r\n"))
	ircLine(t, b, bufio.NewReader(b), " 001 alice ")
}
