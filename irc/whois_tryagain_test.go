package irc

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/ferrybridge/ferry/bridge/network"
)

// TestWhoisTryAgain: a server that rate-limits WHOIS answers it with 263
// RPL_TRYAGAIN and nothing more (ircd-hybrid; Solanum adds a 318). The
// user hears at once that the server asked to try later, in its words,
// instead of waiting for whoisTimeout and hearing of no answer; with
// labeled-response and without.
func TestWhoisTryAgain(t *testing.T) {
	whoisTimeout.setForTest(t, 10*time.Second)
	for _, caps := range []string{"", "labeled-response batch"} {
		t.Run("caps "+caps, func(t *testing.T) {
			cl, _, _ := clientOn(t, scriptedServer(t, caps, func(line string, peer *scriptedPeer) {
				label := ""
				if l := labelOf(line); l != "" {
					label = "@label=" + l + " "
				}
				switch {
				case strings.HasPrefix(line, "PING ") || strings.Contains(line, " PING "):
					peer.write(label + ":srv PONG srv :" + strings.TrimPrefix(line[strings.Index(line, "PING ")+5:], ":"))
				case strings.Contains(line, "WHOIS"):
					peer.write(label + ":srv 263 alice WHOIS :This command could not be completed because it has been used recently, and is rate-limited.")
				}
			}))
			ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
			defer cancel()
			// No timing is asserted: waiting out whoisTimeout ends in
			// "no answer", which the text check below refuses.
			err := whoisOn(ctx, cl)
			msg := network.UserMessage(err, "")
			if !strings.Contains(msg, "try again later") || !strings.Contains(msg, "rate-limited") {
				t.Errorf("a WHOIS refused for now ended with %v (told %q)", err, msg)
			}
		})
	}
}
