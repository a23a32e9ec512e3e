package ircconn

import (
	"strings"
	"testing"
)

// TestHiddenHostBeforeWelcome: a server that cloaks the client during
// registration (a services vhost after SASL, a cloak module) may send
// RPL_HOSTHIDDEN (396) before 001, whose welcome text still ends in the
// real nick!user@host. Others see the cloak, so Source keeps it: taking
// the welcome's host would make the split budget wrong (a real host
// shorter than the cloak lets relayed lines run past 512 bytes) until the
// first own JOIN, and a lingering nick's user@host wrong. The ident of
// the welcome is still learned; without a 396 its host is taken as ever.
func TestHiddenHostBeforeWelcome(t *testing.T) {
	for _, tc := range []struct {
		name   string
		before []string // sent between CAP END and 001
		want   string
	}{
		{"396 before 001", []string{":irc.test 396 ferry user/ferry/cloak-1A2B.example.net :is now your displayed host"}, "ferry!u@user/ferry/cloak-1A2B.example.net"},
		{"no 396", nil, "ferry!u@203.0.113.7"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := newFakeServer(t)
			ch := dialAsync(Config{Addr: s.addr(), Nick: "ferry", Unlimited: true})
			fc := s.accept(t)
			fc.expect("CAP LS 302")
			fc.expect("NICK ferry")
			fc.expectMsg() // USER
			fc.send(":irc.test CAP * LS :")
			fc.expect("CAP END")
			fc.send(tc.before...)
			fc.send(":irc.test 001 ferry :Welcome to the Test IRC Network ferry!u@203.0.113.7",
				":irc.test 005 ferry CASEMAPPING=rfc1459 CHANTYPES=# :are supported by this server",
				":irc.test 422 ferry :MOTD File is missing")
			c, err := waitDial(t, ch)
			if err != nil {
				t.Fatal(err)
			}
			defer shut(c, fc)
			if got := c.Source(); got != tc.want {
				t.Errorf("Source() = %q, want %q", got, tc.want)
			}
			if got := c.SourceLen(); got != len(tc.want) {
				t.Errorf("SourceLen() = %d, want %d", got, len(tc.want))
			}
			// The budget holds with the source the server shows others.
			for i, p := range c.SplitText("#chan", strings.Repeat("word ", 300)) {
				if n := len(":" + tc.want + " PRIVMSG #chan :" + p + "\r\n"); n > MaxLineLen {
					t.Fatalf("piece %d is relayed in %d bytes", i, n)
				}
			}
		})
	}
}
