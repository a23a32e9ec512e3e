package ircconn

import (
	"bytes"
	"encoding/base64"
	"strings"
	"sync"
	"testing"

	"github.com/rs/zerolog"
	"gopkg.in/irc.v4"
)

// syncBuffer is a log sink written from several goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// TestWireLogMasksSecrets: at trace level every line is logged, but the
// server password, the SASL PLAIN payload and a NickServ IDENTIFY sent
// later never appear; "+" and the mechanism name do.
func TestWireLogMasksSecrets(t *testing.T) {
	var buf syncBuffer
	log := zerolog.New(&buf).Level(zerolog.TraceLevel)
	s := newFakeServer(t)
	payload := base64.StdEncoding.EncodeToString([]byte("alice\x00alice\x00sasl-secret"))
	ch := dialAsync(Config{
		Addr: s.addr(), Nick: "ferry", Password: "pass-secret", Caps: []string{"server-time"}, Logger: log,
		SASL: SASL{Mechanism: "PLAIN", Username: "alice", Password: "sasl-secret", Required: true},
	})
	fc := s.accept(t)
	fc.expect("CAP LS 302")
	fc.expect("PASS pass-secret")
	fc.expect("NICK ferry")
	fc.expectMsg()
	fc.send(":irc.test CAP * LS :server-time sasl=PLAIN")
	fc.expect("CAP REQ :server-time sasl")
	fc.send(":irc.test CAP ferry ACK :server-time sasl")
	fc.expect("AUTHENTICATE PLAIN")
	fc.send("AUTHENTICATE +")
	fc.expect("AUTHENTICATE " + payload)
	fc.send(":irc.test 900 ferry ferry!a@cloak/alice alice :You are now logged in as alice",
		":irc.test 903 ferry :SASL authentication successful")
	fc.expect("CAP END")
	fc.greet("ferry")
	c, err := waitDial(t, ch)
	if err != nil {
		t.Fatal(err)
	}
	defer shut(c, fc)
	if err := c.Send(&irc.Message{Command: "PRIVMSG", Params: []string{"NickServ", "IDENTIFY alice ns-secret"}}); err != nil {
		t.Fatal(err)
	}
	fc.expect("PRIVMSG NickServ :IDENTIFY alice ns-secret")
	if err := c.Send(&irc.Message{Command: "PRIVMSG", Params: []string{"#c", "hello there"}}); err != nil {
		t.Fatal(err)
	}
	fc.expect("PRIVMSG #c :hello there")

	out := buf.String()
	for _, secret := range []string{"pass-secret", "sasl-secret", "ns-secret", payload, payload[:20]} {
		if strings.Contains(out, secret) {
			t.Errorf("the log shows %q:\n%s", secret, out)
		}
	}
	for _, want := range []string{`"line":"PASS ***"`, `"line":"AUTHENTICATE PLAIN"`, `"line":"AUTHENTICATE +"`, `"line":"AUTHENTICATE ***"`,
		`"line":"PRIVMSG NickServ :IDENTIFY ***"`, `"line":"PRIVMSG #c :hello there"`, `"line":":irc.test 903 ferry :SASL authentication successful"`, `"dir":"in"`, `"dir":"out"`} {
		if !strings.Contains(out, want) {
			t.Errorf("the log lacks %s:\n%s", want, out)
		}
	}
}

func TestMaskLine(t *testing.T) {
	for in, want := range map[string]string{
		"PASS secret":                        "PASS ***",
		"pass :with space":                   "PASS ***",
		"AUTHENTICATE +":                     "AUTHENTICATE +",
		"AUTHENTICATE *":                     "AUTHENTICATE *",
		"AUTHENTICATE EXTERNAL":              "AUTHENTICATE EXTERNAL",
		"AUTHENTICATE QUxBQQ==":              "AUTHENTICATE ***",
		"AUTHENTICATE PLAINX":                "AUTHENTICATE ***",
		"OPER root hunter2":                  "OPER *** ***",
		"NS IDENTIFY hunter2":                "NS IDENTIFY ***",
		"NICKSERV :IDENTIFY acct hunter2":    "NICKSERV :IDENTIFY ***",
		"PRIVMSG nickserv :identify hunter2": "PRIVMSG nickserv :identify ***",
		"PRIVMSG NickServ@services :ID x y":  "PRIVMSG NickServ@services :ID ***",
		"PRIVMSG NickServ :INFO alice":       "PRIVMSG NickServ :INFO alice",
		"PRIVMSG #c :PASS secret":            "PRIVMSG #c :PASS secret",
		"@label=1 :srv AUTHENTICATE +":       "@label=1 :srv AUTHENTICATE +",
		":alice!a@b PRIVMSG #c :hi":          ":alice!a@b PRIVMSG #c :hi",
		"":                                   "(unparsable line)",
	} {
		if got := maskLine([]byte(in + "\r\n")); got != want {
			t.Errorf("maskLine(%q) = %q, want %q", in, got, want)
		}
	}
}
