package ircconn

import (
	"strconv"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"gopkg.in/irc.v4"
)

// TestSplitFollowsLineLen: a server announcing LINELEN above 512 (as
// InspIRCd with <limits maxline> does) has long text split so that every
// relayed line, with the ":nick!user@host PRIVMSG #chan :" the server
// puts before it, fits that length and fills it; pieces cut no UTF-8
// sequence, rejoin to the text, keep a relayed sender's lead, and are
// accepted for sending. Without LINELEN the limit stays 512 (as under
// it: see TestLineLenBelow512IsNotHonoured).
func TestSplitFollowsLineLen(t *testing.T) {
	text := strings.Repeat("héllo wörld 漢字かな 👍🏽 ", 150)
	for _, lineLen := range []int{0, 1024} {
		t.Run("LINELEN="+strconv.Itoa(lineLen), func(t *testing.T) {
			s := newFakeServer(t)
			c, fc := mustDial(t, s, Config{Nick: "ferry", Unlimited: true}, "")
			want := MaxLineLen
			if lineLen > 0 {
				want = lineLen
				fc.send(":irc.test 005 ferry LINELEN=" + strconv.Itoa(lineLen) + " :are supported by this server")
			}
			deadline := time.Now().Add(fakeTimeout)
			for c.ISupport().MaxLine() != want {
				if time.Now().After(deadline) {
					t.Fatalf("LINELEN never applied: %d", c.ISupport().MaxLine())
				}
				time.Sleep(5 * time.Millisecond)
			}
			for _, lead := range []string{"", "<dave> "} {
				pieces := c.SplitTextPrefixed("#chan", lead, text)
				longest := 0
				var joined strings.Builder
				for i, p := range pieces {
					relayed := ":" + strings.Repeat("x", c.SourceLen()) + " PRIVMSG #chan :" + p + "\r\n"
					if len(relayed) > want {
						t.Fatalf("piece %d is relayed in %d bytes, over %d", i, len(relayed), want)
					}
					longest = max(longest, len(relayed))
					if !utf8.ValidString(p) || !strings.HasPrefix(p, lead) {
						t.Fatalf("piece %d cut inside a UTF-8 sequence or lost its lead: %q", i, p)
					}
					joined.WriteString(strings.TrimPrefix(p, lead))
					if err := c.Send(&irc.Message{Command: "PRIVMSG", Params: []string{"#chan", p}}); err != nil {
						t.Fatalf("piece %d (%d bytes) refused: %v", i, len(p), err)
					}
					if got := fc.expectMsg(); got.Trailing() != p {
						t.Fatalf("piece %d arrived as %q", i, got.Trailing())
					}
				}
				if joined.String() != text {
					t.Fatalf("the pieces rejoin to %q", joined.String())
				}
				// Cut between words (at most 12 bytes apart) or a grapheme.
				if longest < want-30 {
					t.Errorf("the longest piece is relayed in %d bytes: %d allowed", longest, want)
				}
			}
		})
	}
}
