package ircconn

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"errors"
	"math/big"
	"net"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestRegisterCaps(t *testing.T) {
	s := newFakeServer(t)
	ch := dialAsync(Config{Addr: s.addr(), Nick: "ferry", User: "fuser", RealName: "Ferry Bridge", Password: "pw"})
	fc := s.accept(t)
	fc.expect("CAP LS 302")
	fc.expect("PASS pw")
	fc.expect("NICK ferry")
	fc.expect("USER fuser 0 * :Ferry Bridge")
	fc.send("PING :early") // answered even before registration
	fc.expect("PONG early")
	// Multi-line LS with values; only offered and wanted caps are asked
	// for, in the wanted order.
	fc.send(":irc.test CAP * LS * :multi-prefix sasl=PLAIN,EXTERNAL draft/languages=2,en,~fr",
		":irc.test CAP * LS :server-time batch labeled-response echo-message message-tags unknown-cap")
	fc.expect("CAP REQ :server-time message-tags echo-message labeled-response batch multi-prefix")
	fc.send(":irc.test CAP * ACK :server-time message-tags echo-message labeled-response batch multi-prefix")
	fc.expect("CAP END")
	fc.send(":irc.test NOTICE * :*** Looking up your hostname")
	fc.greet("ferry")
	c, err := waitDial(t, ch)
	if err != nil {
		t.Fatal(err)
	}
	defer shut(c, fc)
	want := []string{"batch", "echo-message", "labeled-response", "message-tags", "multi-prefix", "server-time"}
	if got := c.Caps(); !equalStrings(got, want) {
		t.Errorf("caps %q, want %q", got, want)
	}
	if !c.HasCap("batch") || c.HasCap("sasl") {
		t.Error("HasCap")
	}
	if c.Nick() != "ferry" || c.Source() != "ferry!u@test.host" {
		t.Errorf("nick %q source %q", c.Nick(), c.Source())
	}
	if c.ISupport().NickLen != 30 || c.ISupport().ChanTypes != "#" {
		t.Errorf("ISUPPORT not applied: %+v", c.ISupport())
	}
}

func TestRegisterNAKDoesNotHang(t *testing.T) {
	s := newFakeServer(t)
	ch := dialAsync(Config{Addr: s.addr(), Nick: "ferry", Caps: []string{"server-time", "batch", "echo-message"}})
	fc := s.accept(t)
	fc.expect("CAP LS 302")
	fc.expect("NICK ferry")
	fc.expectMsg()
	fc.send(":irc.test CAP * LS :server-time batch echo-message")
	fc.expect("CAP REQ :server-time batch echo-message")
	// The whole request is refused because of one cap: the client asks
	// for each alone and still ends negotiation.
	fc.send(":irc.test CAP * NAK :server-time batch echo-message")
	fc.expect("CAP REQ server-time")
	fc.expect("CAP REQ batch")
	fc.expect("CAP REQ echo-message")
	fc.send(":irc.test CAP * ACK server-time", ":irc.test CAP * NAK batch", ":irc.test CAP * ACK :echo-message")
	fc.expect("CAP END")
	fc.greet("ferry")
	c, err := waitDial(t, ch)
	if err != nil {
		t.Fatal(err)
	}
	defer shut(c, fc)
	if got := c.Caps(); !equalStrings(got, []string{"echo-message", "server-time"}) {
		t.Errorf("caps %q", got)
	}
}

func TestRegisterWithoutCap(t *testing.T) {
	// A server that knows no CAP: it answers 421 and registers anyway.
	s := newFakeServer(t)
	ch := dialAsync(Config{Addr: s.addr(), Nick: "old"})
	fc := s.accept(t)
	fc.expect("CAP LS 302")
	fc.send(":old.server 421 * CAP :Unknown command")
	fc.expect("NICK old")
	fc.expectMsg()
	fc.send(":old.server 001 old :Welcome", ":old.server 376 old :End of MOTD")
	c, err := waitDial(t, ch)
	if err != nil {
		t.Fatal(err)
	}
	defer shut(c, fc)
	if len(c.Caps()) != 0 || c.ISupport().CaseMapping != CaseMappingRFC1459 {
		t.Errorf("caps %v casemapping %v", c.Caps(), c.ISupport().CaseMapping)
	}
}

func TestRegisterNickCollision(t *testing.T) {
	s := newFakeServer(t)
	ch := dialAsync(Config{Addr: s.addr(), Nick: "ferry", NickLen: 7})
	fc := s.accept(t)
	fc.expect("CAP LS 302")
	fc.expect("NICK ferry")
	fc.expectMsg()
	fc.send(":irc.test CAP * LS :")
	fc.expect("CAP END")
	for _, next := range []string{"ferry_", "ferry__", "ferry1"} {
		fc.send(":irc.test 433 * " + next + " :Nickname is already in use")
		fc.expect("NICK " + next)
	}
	fc.send(":irc.test 432 * ferry1 :Erroneous Nickname")
	fc.expect("NICK ferry2")
	fc.greet("ferry2")
	c, err := waitDial(t, ch)
	if err != nil {
		t.Fatal(err)
	}
	defer shut(c, fc)
	if c.Nick() != "ferry2" {
		t.Fatalf("Nick() = %q", c.Nick())
	}
	// RegainNick asks for the wanted nick; the server's NICK confirms.
	if err := c.RegainNick(); err != nil {
		t.Fatal(err)
	}
	fc.expect("NICK ferry")
	fc.send(":ferry2!u@test.host NICK :ferry")
	fc.send("PING :sync")
	fc.expect("PONG sync")
	if c.Nick() != "ferry" {
		t.Errorf("after NICK: %q", c.Nick())
	}
}

func TestRegisterNickExhausted(t *testing.T) {
	s := newFakeServer(t)
	ch := dialAsync(Config{Addr: s.addr(), Nick: "taken"})
	fc := s.accept(t)
	fc.readLine()
	fc.readLine()
	fc.readLine()
	fc.send(":irc.test CAP * LS :")
	fc.expect("CAP END")
	fc.send(":irc.test 433 * taken :in use")
	for {
		line := fc.readLine()
		if !strings.HasPrefix(line, "NICK ") {
			break
		}
		fc.send(":irc.test 433 * " + line[5:] + " :in use")
	}
	_, err := waitDial(t, ch)
	if KindOf(err) != KindNickUnavailable {
		t.Fatalf("err %v, kind %v", err, KindOf(err))
	}
}

func TestRegisterRefused(t *testing.T) {
	cases := []struct {
		lines []string
		kind  Kind
	}{
		{[]string{":irc.test 464 * :Password incorrect", "ERROR :Closing link: (u@h) [Access denied by configuration]"}, KindBadPassword},
		{[]string{":irc.test 465 * :You're banned!", "ERROR :Closing link: (u@h) [K-lined: spam]"}, KindBanned},
		{[]string{"ERROR :Closing link: (114AAAAAC@127.0.0.1) [No more connections allowed from your host via this connect class (local)]"}, KindTooManyConnections},
		{[]string{"ERROR :Trying to reconnect too fast."}, KindThrottled},
		{[]string{"ERROR :Closing Link: 127.0.0.1 (Throttled: Reconnecting too fast) -Email admin@example.org for more information."}, KindThrottled},
		{[]string{"ERROR :Closing link: (u@h) [Z-lined: Your IP range has been attempting to connect too many times in too short a duration. Wait a while, and you will be able to connect.]"}, KindThrottled},
		{[]string{"ERROR :Closing link: (u@h) [Server shutting down]"}, KindServerClosed},
	}
	for _, c := range cases {
		t.Run(c.kind.String(), func(t *testing.T) {
			s := newFakeServer(t)
			ch := dialAsync(Config{Addr: s.addr(), Nick: "ferry"})
			fc := s.accept(t)
			fc.readLine()
			fc.readLine()
			fc.readLine()
			fc.send(c.lines...)
			_, err := waitDial(t, ch)
			var se *ServerError
			if !errors.As(err, &se) || KindOf(err) != c.kind {
				t.Fatalf("err %v (kind %v), want kind %v", err, KindOf(err), c.kind)
			}
		})
	}
}

func TestClassifyClose(t *testing.T) {
	for reason, want := range map[string]Kind{
		"Closing link: (victim@127.0.0.1) [K-lined: no bridges here]":  KindBanned,
		"Closing Link: host (G-Lined)":                                 KindBanned,
		"Closing Link: x[1.2.3.4] (Too many connections from your IP)": KindTooManyConnections,
		"Too many host connections (global)":                           KindTooManyConnections,
		"Your host is trying to (re)connect too fast -- throttled":     KindThrottled,
		"Closing link: (a@b) [Excess Flood]":                           KindFlooded,
		"Closing link: (a@b) [RecvQ exceeded]":                         KindFlooded,
		"Closing link: (a@b) [Killed (oper (bye))]":                    KindKilled,
		"Closing link: (a@b) [Quit: bye]":                              KindServerClosed,
	} {
		if got := ClassifyClose(reason); got != want {
			t.Errorf("ClassifyClose(%q) = %v, want %v", reason, got, want)
		}
	}
}

func TestRegistrationTimeout(t *testing.T) {
	s := newFakeServer(t)
	ch := dialAsync(Config{Addr: s.addr(), Nick: "ferry", RegisterTimeout: 300 * time.Millisecond})
	fc := s.accept(t)
	fc.readLine() // then silence
	_, err := waitDial(t, ch)
	if !errors.Is(err, ErrRegistrationTimeout) || KindOf(err) != KindTimeout {
		t.Fatalf("err %v", err)
	}
}

func TestRegistrationCancel(t *testing.T) {
	s := newFakeServer(t)
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() {
		_, err := Dial(ctx, Config{Addr: s.addr(), Nick: "ferry"})
		errc <- err
	}()
	fc := s.accept(t)
	fc.readLine()
	cancel()
	select {
	case err := <-errc:
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("err %v", err)
		}
	case <-time.After(fakeTimeout):
		t.Fatal("Dial ignored the cancelled context")
	}
}

// saslStart plays the server up to AUTHENTICATE <mech> and returns the
// client connection and Dial's result channel.
func saslStart(t *testing.T, s *fakeServer, cfg Config, mech string) (*fakeClient, <-chan dialResult) {
	t.Helper()
	cfg.Addr = s.addr()
	cfg.Nick = "ferry"
	cfg.Caps = []string{"server-time"}
	ch := dialAsync(cfg)
	fc := s.accept(t)
	fc.expect("CAP LS 302")
	fc.expect("NICK ferry")
	fc.expectMsg()
	fc.send(":irc.test CAP * LS :server-time sasl=PLAIN,EXTERNAL")
	fc.expect("CAP REQ :server-time sasl")
	fc.send(":irc.test CAP ferry ACK :server-time sasl")
	fc.expect("AUTHENTICATE " + mech)
	fc.send("AUTHENTICATE +")
	return fc, ch
}

func TestSASLPlain(t *testing.T) {
	s := newFakeServer(t)
	fc, ch := saslStart(t, s, Config{SASL: SASL{Mechanism: "PLAIN", Username: "alice", Password: "secret", Required: true}}, "PLAIN")
	fc.expect("AUTHENTICATE " + base64.StdEncoding.EncodeToString([]byte("alice\x00alice\x00secret")))
	fc.send(":irc.test 900 ferry ferry!a@cloak/alice alice :You are now logged in as alice",
		":irc.test 903 ferry :SASL authentication successful")
	fc.expect("CAP END")
	fc.greet("ferry")
	c, err := waitDial(t, ch)
	if err != nil {
		t.Fatal(err)
	}
	defer shut(c, fc)
	if c.Account() != "alice" {
		t.Errorf("account %q", c.Account())
	}
	if !c.HasCap("sasl") {
		t.Error("sasl cap not recorded")
	}
}

func TestSASLChunks(t *testing.T) {
	for n, want := range map[int][]int{0: {1}, 1: {1}, 399: {399}, 400: {400, 1}, 401: {400, 1}, 800: {400, 400, 1}, 950: {400, 400, 150}} {
		var got []int
		for _, c := range saslChunks(strings.Repeat("x", n)) {
			got = append(got, len(c))
		}
		if !slices.Equal(got, want) {
			t.Errorf("payload %d: chunks %v, want %v", n, got, want)
		}
	}
	// On the wire: a payload of exactly 400 bytes (300 raw: "u\0u\0" plus
	// a 296-byte password) is followed by "AUTHENTICATE +".
	s := newFakeServer(t)
	pass := strings.Repeat("p", 296)
	fc, ch := saslStart(t, s, Config{SASL: SASL{Mechanism: "PLAIN", Username: "u", Password: pass}}, "PLAIN")
	payload := base64.StdEncoding.EncodeToString([]byte("u\x00u\x00" + pass))
	if len(payload) != 400 {
		t.Fatalf("payload is %d bytes", len(payload))
	}
	fc.expect("AUTHENTICATE " + payload)
	fc.expect("AUTHENTICATE +")
	fc.send(":irc.test 903 ferry :SASL authentication successful")
	fc.expect("CAP END")
	fc.greet("ferry")
	c, err := waitDial(t, ch)
	if err != nil {
		t.Fatal(err)
	}
	shut(c, fc)
}

func TestSASLFailure(t *testing.T) {
	t.Run("required", func(t *testing.T) {
		s := newFakeServer(t)
		fc, ch := saslStart(t, s, Config{SASL: SASL{Mechanism: "PLAIN", Username: "a", Password: "wrong", Required: true}}, "PLAIN")
		fc.readLine()
		fc.send(":irc.test 904 ferry :SASL authentication failed")
		fc.expect("QUIT :SASL authentication failed")
		_, err := waitDial(t, ch)
		if KindOf(err) != KindSASL {
			t.Fatalf("err %v", err)
		}
	})
	t.Run("optional", func(t *testing.T) {
		s := newFakeServer(t)
		fc, ch := saslStart(t, s, Config{SASL: SASL{Mechanism: "PLAIN", Username: "a", Password: "wrong"}}, "PLAIN")
		fc.readLine()
		fc.send(":irc.test 904 ferry :SASL authentication failed")
		fc.expect("CAP END")
		fc.greet("ferry")
		c, err := waitDial(t, ch)
		if err != nil {
			t.Fatal(err)
		}
		defer shut(c, fc)
		if c.Account() != "" {
			t.Errorf("account %q after failure", c.Account())
		}
	})
	t.Run("not offered", func(t *testing.T) {
		s := newFakeServer(t)
		ch := dialAsync(Config{Addr: s.addr(), Nick: "ferry", Caps: []string{}, SASL: SASL{Mechanism: "EXTERNAL", Required: true}})
		fc := s.accept(t)
		fc.readLine()
		fc.readLine()
		fc.readLine()
		fc.send(":irc.test CAP * LS :server-time")
		fc.expect("QUIT :SASL authentication failed")
		_, err := waitDial(t, ch)
		if KindOf(err) != KindSASLUnavailable {
			t.Fatalf("err %v", err)
		}
	})
}

func TestSASLExternal(t *testing.T) {
	// Over TLS with a client certificate the server can see: the
	// transcript is the EXTERNAL one (an empty response, "+").
	serverCert, clientCert := selfSigned(t, "irc.test"), selfSigned(t, "ferry-user")
	ln, err := tls.Listen("tcp", "127.0.0.1:0", &tls.Config{Certificates: []tls.Certificate{serverCert}, ClientAuth: tls.RequireAnyClientCert})
	if err != nil {
		t.Fatal(err)
	}
	s := &fakeServer{ln: ln, conns: make(chan net.Conn, 1)}
	go func() {
		c, err := ln.Accept()
		if err == nil {
			err = c.(*tls.Conn).Handshake()
		}
		if err == nil {
			s.conns <- c
		}
		close(s.conns)
	}()
	defer ln.Close()
	fc, ch := saslStart(t, s, Config{TLS: true, TLSInsecure: true, ClientCert: &clientCert,
		SASL: SASL{Mechanism: "EXTERNAL", Required: true}}, "EXTERNAL")
	peer := fc.nc.(*tls.Conn).ConnectionState().PeerCertificates
	if len(peer) == 0 || peer[0].Subject.CommonName != "ferry-user" {
		t.Fatalf("client certificate not presented: %v", peer)
	}
	fc.expect("AUTHENTICATE +")
	fc.send(":irc.test 900 ferry ferry!u@h ferryacct :You are now logged in", ":irc.test 903 ferry :SASL authentication successful")
	fc.expect("CAP END")
	fc.greet("ferry")
	c, err := waitDial(t, ch)
	if err != nil {
		t.Fatal(err)
	}
	defer shut(c, fc)
	if c.Account() != "ferryacct" {
		t.Errorf("account %q", c.Account())
	}
}

func selfSigned(t *testing.T, cn string) tls.Certificate {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: cn},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}
}

// TestCapsSharedCopyOnWrite: connections with the same capabilities
// share them, and a CAP DEL, ACK or NEW on one leaves the other's alone.
func TestCapsSharedCopyOnWrite(t *testing.T) {
	s := newFakeServer(t)
	const offered = "batch echo-message labeled-response cap-notify"
	a, fa := mustDial(t, s, Config{Nick: "a"}, offered)
	b, _ := mustDial(t, s, Config{Nick: "b"}, offered)
	want := []string{"batch", "cap-notify", "echo-message", "labeled-response"}
	if !equalStrings(a.Caps(), want) || !equalStrings(b.Caps(), want) {
		t.Fatalf("caps %q and %q, want %q", a.Caps(), b.Caps(), want)
	}
	done := make(chan struct{})
	fa.send(":irc.test CAP a DEL :echo-message")
	fa.send(":irc.test CAP a NEW :server-time")
	fa.expect("CAP REQ server-time")
	fa.send(":irc.test CAP a ACK :server-time")
	go func() {
		defer close(done)
		for !a.HasCap("server-time") {
			time.Sleep(5 * time.Millisecond)
		}
	}()
	select {
	case <-done:
	case <-time.After(fakeTimeout):
		t.Fatal("the ACK was not applied")
	}
	if got, want := a.Caps(), []string{"batch", "cap-notify", "labeled-response", "server-time"}; !equalStrings(got, want) {
		t.Errorf("a: caps %q, want %q", got, want)
	}
	if !equalStrings(b.Caps(), want) {
		t.Errorf("b: caps %q changed with a's, want %q", b.Caps(), want)
	}
}

// Lines that arrive in the same read as the end of the MOTD are left in
// the buffer by registration; the reader must hand them over at once,
// once each and in order, not hold them until the next data (on a quiet
// connection the keepalive, IdleTimeout later).
func TestLinesReadWithEndOfMOTDAreDeliveredAtOnce(t *testing.T) {
	s := newFakeServer(t)
	rec := &recorder{}
	ch := dialAsync(Config{Addr: s.addr(), Nick: "ferry", Handler: rec.handle})
	fc := s.accept(t)
	fc.expect("CAP LS 302")
	fc.expect("NICK ferry")
	fc.expectMsg() // USER
	fc.send(":irc.test CAP * LS :")
	fc.expect("CAP END")
	// One write: greeting, end of MOTD, then what a bouncer or a quick
	// correspondent sends straight after.
	fc.send(":irc.test 001 ferry :Welcome ferry!u@h\r\n" +
		":irc.test 422 ferry :No MOTD\r\n" +
		":bob!b@h PRIVMSG ferry :are you there?\r\n" +
		":ferry!u@h JOIN #chan")
	c, err := waitDial(t, ch)
	if err != nil {
		t.Fatal(err)
	}
	defer shut(c, fc)
	want := []string{"001", "422", "PRIVMSG", "JOIN"}
	deadline := time.Now().Add(3 * time.Second)
	for time.Now().Before(deadline) && len(rec.commands()) < len(want) {
		time.Sleep(20 * time.Millisecond)
	}
	time.Sleep(50 * time.Millisecond) // room for a duplicate to show
	if got := rec.commands(); !slices.Equal(got, want) {
		t.Fatalf("handler got %v, want %v without further data from the server", got, want)
	}
}
