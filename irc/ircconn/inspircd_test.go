package ircconn_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"math/big"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"gopkg.in/irc.v4"

	"github.com/ferrybridge/ferry/internal/testbed"
	"github.com/ferrybridge/ferry/irc/ircconn"
)

// Everything here runs against a real InspIRCd 3. InspIRCd completes
// registrations on a once-a-second tick, so each Dial takes up to a second.

const wait = 15 * time.Second

// inbox collects a connection's messages for tests to wait on.
type inbox struct {
	mu     sync.Mutex
	msgs   []*irc.Message
	notify chan struct{}
}

func newInbox() *inbox { return &inbox{notify: make(chan struct{}, 1)} }

func (b *inbox) handle(m *irc.Message) {
	b.mu.Lock()
	b.msgs = append(b.msgs, m)
	b.mu.Unlock()
	select {
	case b.notify <- struct{}{}:
	default:
	}
}

// waitFor returns the first message (from the start) that match accepts.
func (b *inbox) waitFor(t *testing.T, what string, match func(*irc.Message) bool) *irc.Message {
	t.Helper()
	deadline := time.After(wait)
	for {
		b.mu.Lock()
		for _, m := range b.msgs {
			if match(m) {
				b.mu.Unlock()
				return m
			}
		}
		b.mu.Unlock()
		select {
		case <-b.notify:
		case <-deadline:
			t.Fatalf("no %s within %v", what, wait)
		}
	}
}

// waitCount waits until n messages match.
func (b *inbox) waitCount(t *testing.T, what string, n int, match func(*irc.Message) bool) {
	t.Helper()
	deadline := time.After(wait)
	for b.count(match) < n {
		select {
		case <-b.notify:
		case <-deadline:
			t.Fatalf("no %s within %v", what, wait)
		}
	}
}

func (b *inbox) count(match func(*irc.Message) bool) int {
	b.mu.Lock()
	defer b.mu.Unlock()
	n := 0
	for _, m := range b.msgs {
		if match(m) {
			n++
		}
	}
	return n
}

func dial(t *testing.T, cfg ircconn.Config) *ircconn.Conn {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	c, err := ircconn.Dial(ctx, cfg)
	if err != nil {
		t.Fatalf("Dial %s as %s: %v", cfg.Addr, cfg.Nick, err)
	}
	t.Cleanup(func() {
		c.Close("test over")
		<-c.Done()
	})
	return c
}

func isCmd(cmd string) func(*irc.Message) bool {
	return func(m *irc.Message) bool { return m.Command == cmd }
}

func TestInspIRCdRegistration(t *testing.T) {
	t.Parallel()
	srv := testbed.StartInspIRCd(t, testbed.InspIRCdOptions{Password: "letmein"})
	c := dial(t, ircconn.Config{Addr: srv.Addr, Nick: "ferry", User: "fuser", Password: "letmein"})
	caps := c.Caps()
	t.Logf("offered %v; enabled %v", srv.Caps, caps)
	for _, want := range []string{"server-time", "echo-message", "message-tags", "batch", "labeled-response",
		"multi-prefix", "away-notify", "account-notify", "extended-join", "chghost", "userhost-in-names", "cap-notify"} {
		if slices.Contains(srv.Caps, want) && !c.HasCap(want) {
			t.Errorf("%s offered but not enabled", want)
		}
	}
	is := c.ISupport()
	if is.CaseMapping != ircconn.CaseMappingRFC1459 || is.Network != srv.Network || is.NickLen != 30 ||
		is.PrefixModes != "ov" || is.PrefixChars != "@+" || is.ChanTypes != "#" || is.LineLen != 512 {
		t.Errorf("ISUPPORT %+v", is)
	}
	if c.Source() != "ferry!fuser@127.0.0.1" {
		t.Errorf("Source() = %q", c.Source())
	}

	// A wrong password is KindBadPassword.
	_, err := ircconn.Dial(context.Background(), ircconn.Config{Addr: srv.Addr, Nick: "intruder", Password: "nope"})
	if ircconn.KindOf(err) != ircconn.KindBadPassword {
		t.Errorf("wrong password: %v (kind %v)", err, ircconn.KindOf(err))
	}
}

func TestInspIRCdNickCollision(t *testing.T) {
	t.Parallel()
	srv := testbed.StartInspIRCd(t, testbed.InspIRCdOptions{NoFlood: true})
	first := dial(t, ircconn.Config{Addr: srv.Addr, Nick: "twin"})
	box := newInbox()
	second := dial(t, ircconn.Config{Addr: srv.Addr, Nick: "twin", Handler: box.handle, Unlimited: true})
	if first.Nick() != "twin" || second.Nick() != "twin_" {
		t.Fatalf("nicks %q and %q", first.Nick(), second.Nick())
	}
	// Taken still: the server says 433 and the nick stays.
	if err := second.RegainNick(); err != nil {
		t.Fatal(err)
	}
	box.waitFor(t, "433", isCmd("433"))
	first.Close("making room")
	<-first.Done()
	if err := second.RegainNick(); err != nil {
		t.Fatal(err)
	}
	box.waitFor(t, "NICK twin", func(m *irc.Message) bool { return m.Command == "NICK" && m.Param(0) == "twin" })
	if second.Nick() != "twin" {
		t.Errorf("after regaining: %q", second.Nick())
	}

	// A nick over NICKLEN (30) is erroneous: the fallback shortens it.
	long := dial(t, ircconn.Config{Addr: srv.Addr, Nick: strings.Repeat("n", 40)})
	if n := long.Nick(); len(n) > 30 || !strings.HasPrefix(n, "nnnn") {
		t.Errorf("long nick became %q", n)
	}
}

func TestInspIRCdLabeledEcho(t *testing.T) {
	t.Parallel()
	srv := testbed.StartInspIRCd(t, testbed.InspIRCdOptions{NoFlood: true})
	obsBox := newInbox()
	observer := dial(t, ircconn.Config{Addr: srv.Addr, Nick: "observer", Handler: obsBox.handle, Unlimited: true})
	c := dial(t, ircconn.Config{Addr: srv.Addr, Nick: "speaker", Unlimited: true})
	if err := observer.Send(&irc.Message{Command: "JOIN", Params: []string{"#ferry"}}); err != nil {
		t.Fatal(err)
	}
	obsBox.waitFor(t, "observer's JOIN", isCmd("366"))

	// A labeled JOIN comes back as a batch: JOIN, NAMES.
	reply, err := c.SendLabeled(&irc.Message{Command: "JOIN", Params: []string{"#ferry"}})
	if err != nil {
		t.Fatal(err)
	}
	r := <-reply
	var cmds []string
	for _, m := range r.Messages {
		cmds = append(cmds, m.Command)
	}
	if r.Err != nil || !slices.Contains(cmds, "JOIN") || !slices.Contains(cmds, "366") {
		t.Fatalf("JOIN reply %v %v", cmds, r.Err)
	}

	// The echo of a labeled PRIVMSG carries the msgid others see.
	reply, err = c.SendLabeled(&irc.Message{Command: "PRIVMSG", Params: []string{"#ferry", "hello from ferry"}})
	if err != nil {
		t.Fatal(err)
	}
	select {
	case r = <-reply:
	case <-time.After(wait):
		t.Fatal("no labeled reply")
	}
	if r.Err != nil || len(r.Messages) != 1 {
		t.Fatalf("reply %+v", r)
	}
	echo := r.Messages[0]
	msgid := echo.Tags["msgid"]
	ts, ok := ircconn.MessageTime(echo)
	if echo.Command != "PRIVMSG" || msgid == "" || !ok || time.Since(ts) > time.Minute {
		t.Fatalf("echo %v (msgid %q, time %v)", echo, msgid, ts)
	}
	seen := obsBox.waitFor(t, "the PRIVMSG", func(m *irc.Message) bool { return m.Command == "PRIVMSG" && m.Trailing() == "hello from ferry" })
	if seen.Tags["msgid"] != msgid {
		t.Errorf("observer saw msgid %q, echo said %q", seen.Tags["msgid"], msgid)
	}
}

func TestInspIRCdSplitText(t *testing.T) {
	t.Parallel()
	srv := testbed.StartInspIRCd(t, testbed.InspIRCdOptions{NoFlood: true})
	obsBox := newInbox()
	observer := dial(t, ircconn.Config{Addr: srv.Addr, Nick: "reader", Handler: obsBox.handle, Unlimited: true})
	c := dial(t, ircconn.Config{Addr: srv.Addr, Nick: "writer_with_a_long_nick", User: "longident", Unlimited: true})
	observer.Send(&irc.Message{Command: "JOIN", Params: []string{"#split"}})
	obsBox.waitFor(t, "JOIN", isCmd("366"))
	c.Send(&irc.Message{Command: "JOIN", Params: []string{"#split"}})

	// Long texts in several scripts: every piece must arrive whole, which
	// it would not if the relayed line exceeded 512 bytes (InspIRCd cuts).
	texts := []string{
		strings.Repeat("The quick brown fox jumps over the lazy dog. ", 30),
		strings.Repeat("漢字かな交じり文の例です。", 40),
		strings.Repeat("👍🏽👨‍👩‍👧‍👦🇫🇷 ", 60),
		"\x01ACTION " + strings.Repeat("waves énergiquement ", 40) + "\x01",
	}
	var pieces []string
	for _, text := range texts {
		for _, p := range c.SplitText("#split", text) {
			pieces = append(pieces, p)
			if err := c.Send(&irc.Message{Command: "PRIVMSG", Params: []string{"#split", p}}); err != nil {
				t.Fatal(err)
			}
		}
	}
	from := func(m *irc.Message) bool {
		return m.Command == "PRIVMSG" && m.Prefix != nil && m.Prefix.Name == "writer_with_a_long_nick"
	}
	obsBox.waitFor(t, "the last piece", func(m *irc.Message) bool { return from(m) && m.Trailing() == pieces[len(pieces)-1] })
	var got []string
	obsBox.mu.Lock()
	for _, m := range obsBox.msgs {
		if from(m) {
			got = append(got, m.Trailing())
		}
	}
	obsBox.mu.Unlock()
	if !slices.Equal(got, pieces) {
		t.Fatalf("received %d pieces, sent %d; first difference matters", len(got), len(pieces))
	}
	if len(pieces) < 8 {
		t.Errorf("only %d pieces: texts were not split", len(pieces))
	}
}

func TestInspIRCdKeepaliveAndClose(t *testing.T) {
	t.Parallel()
	srv := testbed.StartInspIRCd(t, testbed.InspIRCdOptions{NoFlood: true})
	obsBox := newInbox()
	observer := dial(t, ircconn.Config{Addr: srv.Addr, Nick: "watcher", Handler: obsBox.handle, Unlimited: true})
	box := newInbox()
	c, err := ircconn.Dial(context.Background(), ircconn.Config{Addr: srv.Addr, Nick: "leaver", Handler: box.handle,
		IdleTimeout: 100 * time.Millisecond, Unlimited: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close(""); <-c.Done() })
	// Idle: the Conn pings and InspIRCd answers, three times over.
	box.waitCount(t, "three PONGs", 3, isCmd("PONG"))
	select {
	case <-c.Done():
		t.Fatalf("keepalive ended the connection: %v", c.Err())
	default:
	}

	observer.Send(&irc.Message{Command: "JOIN", Params: []string{"#bye"}})
	obsBox.waitFor(t, "JOIN", isCmd("366"))
	c.Send(&irc.Message{Command: "JOIN", Params: []string{"#bye"}})
	obsBox.waitFor(t, "leaver's JOIN", func(m *irc.Message) bool { return m.Command == "JOIN" && m.Prefix.Name == "leaver" })
	c.Close("off to Matrix")
	<-c.Done()
	if !errors.Is(c.Err(), ircconn.ErrClosed) {
		t.Errorf("Err() = %v", c.Err())
	}
	quit := obsBox.waitFor(t, "QUIT", isCmd("QUIT"))
	if quit.Prefix.Name != "leaver" || quit.Trailing() != "Quit: off to Matrix" {
		t.Errorf("observer saw %v", quit)
	}
}

func TestInspIRCdKLineAndLimits(t *testing.T) {
	t.Parallel()
	srv := testbed.StartInspIRCd(t, testbed.InspIRCdOptions{OperName: "admin", OperPassword: "operpw", MaxConnsPerIP: 2})
	opBox := newInbox()
	op := dial(t, ircconn.Config{Addr: srv.Addr, Nick: "oper", User: "oper", Handler: opBox.handle, Unlimited: true})
	victim := dial(t, ircconn.Config{Addr: srv.Addr, Nick: "victim", User: "victim"})

	// A third connection from 127.0.0.1 is over the limit.
	_, err := ircconn.Dial(context.Background(), ircconn.Config{Addr: srv.Addr, Nick: "third"})
	if ircconn.KindOf(err) != ircconn.KindTooManyConnections {
		t.Errorf("third connection: %v (kind %v)", err, ircconn.KindOf(err))
	}

	op.Send(&irc.Message{Command: "OPER", Params: []string{"admin", "operpw"}})
	opBox.waitFor(t, "381", isCmd("381"))
	op.Send(&irc.Message{Command: "KLINE", Params: []string{"victim@127.0.0.1", "1h", "no bridges here"}})
	select {
	case <-victim.Done():
	case <-time.After(wait):
		t.Fatal("K-lined connection still up")
	}
	var se *ircconn.ServerError
	if !errors.As(victim.Err(), &se) || se.Kind != ircconn.KindBanned {
		t.Errorf("Err() = %v", victim.Err())
	}
}

func TestInspIRCdTLS(t *testing.T) {
	t.Parallel()
	srv := testbed.StartInspIRCd(t, testbed.InspIRCdOptions{TLS: true, NoFlood: true})
	cert := clientCert(t)
	box := newInbox()
	c := dial(t, ircconn.Config{Addr: srv.TLSAddr, TLS: true, Nick: "secure", Handler: box.handle, Unlimited: true,
		TLSConfig: &tls.Config{RootCAs: srv.CertPool(), ServerName: srv.ServerName}, ClientCert: &cert,
		IdleTimeout: 100 * time.Millisecond})
	// Keepalive over TLS: a read deadline expiring mid-wait must leave the
	// TLS connection usable.
	box.waitCount(t, "two PONGs", 2, isCmd("PONG"))
	c.Send(&irc.Message{Command: "WHOIS", Params: []string{"secure"}})
	box.waitFor(t, "WHOIS end", isCmd("318"))
	if box.count(isCmd("671")) == 0 { // RPL_WHOISSECURE
		t.Error("WHOIS does not show a secure connection")
	}
	if box.count(isCmd("276")) == 0 { // RPL_WHOISCERTFP: the client certificate arrived
		t.Error("WHOIS shows no certificate fingerprint")
	}
}

func clientCert(t *testing.T) tls.Certificate {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(7), Subject: pkix.Name{CommonName: "ferry"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}
}
