package ircconn

import (
	"strconv"
	"strings"
	"testing"
	"time"

	"gopkg.in/irc.v4"
)

// TestLineLenBelow512IsNotHonoured: a server announcing a LINELEN under
// 512 (tiny, or just short) still has every line Ferry sends built as
// for 512: the PONG to its PING, a JOIN with a key, and text split to
// fill 512-byte relayed lines. No server lets its operator go under the
// RFC's 512 (InspIRCd's maxline and Ergo's linelen both refuse it), so
// such a value is broken, and honouring it left lines unbuildable: a
// PONG refused means a ping timeout.
func TestLineLenBelow512IsNotHonoured(t *testing.T) {
	text := strings.Repeat("word ", 300)
	for _, lineLen := range []int{1, 20, 400} {
		t.Run("LINELEN="+strconv.Itoa(lineLen), func(t *testing.T) {
			s := newFakeServer(t)
			c, fc := mustDial(t, s, Config{Nick: "ferry", Unlimited: true}, "")
			fc.send(":irc.test 005 ferry LINELEN=" + strconv.Itoa(lineLen) + " :are supported by this server")
			deadline := time.Now().Add(fakeTimeout)
			for c.ISupport().LineLen != lineLen {
				if time.Now().After(deadline) {
					t.Fatalf("LINELEN=%d never parsed: %d", lineLen, c.ISupport().LineLen)
				}
				time.Sleep(5 * time.Millisecond)
			}
			if got := c.ISupport().MaxLine(); got != MaxLineLen {
				t.Errorf("MaxLine() = %d, want %d", got, MaxLineLen)
			}
			fc.send("PING :are-you-still-there")
			fc.expect("PONG are-you-still-there")
			if err := c.Send(&irc.Message{Command: "JOIN", Params: []string{"#ferry-channel", "s3cret"}}); err != nil {
				t.Fatalf("JOIN refused: %v", err)
			}
			fc.expect("JOIN #ferry-channel s3cret")
			pieces := c.SplitText("#chan", text)
			if len(pieces) == 0 {
				t.Fatal("no pieces")
			}
			relayed := ":" + strings.Repeat("x", c.SourceLen()) + " PRIVMSG #chan :" + pieces[0] + "\r\n"
			if len(relayed) > MaxLineLen || len(relayed) < MaxLineLen-10 {
				t.Errorf("the first piece is relayed in %d bytes, not as for %d", len(relayed), MaxLineLen)
			}
		})
	}
}
