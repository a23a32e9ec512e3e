package irc

import (
	"context"
	"strings"
	"testing"
	"time"

	"maunium.net/go/mautrix/format"

	"github.com/ferrybridge/ferry/bridge/network"
)

// TestWhoisShowsTextAsText: `irc whois` shows what the server says of
// someone, much of which (the real name, the away message) they wrote
// themselves. Markdown in it must stay text in the bot's notice, not
// become a link the user takes for the bot's own.
func TestWhoisShowsTextAsText(t *testing.T) {
	cl, _, _ := clientOn(t, scriptedServer(t, "labeled-response batch", func(line string, peer *scriptedPeer) {
		if strings.Contains(line, "WHOIS") {
			peer.write("@label=" + labelOf(line) + " :srv BATCH +w labeled-response")
			peer.write("@batch=w :srv 311 alice bob ~b host * :[Ferry support](https://evil.example/) **urgent**")
			peer.write("@batch=w :srv 318 alice bob :End of /WHOIS list.")
			peer.write(":srv BATCH -w")
		}
	}))
	cl.c.cfg = &Config{Networks: map[string]*NetworkConfig{"test": cl.cfg}}
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	var reply string
	err := cl.c.cmdWhois(ctx, &network.CommandEvent{
		User: cl.login.User, Args: []string{"test", "bob"},
		Logins: []*network.Login{{ID: cl.loginID}},
		Client: func(network.LoginID) (network.Client, bool) { return cl, true },
		Reply:  func(md string) { reply = md },
	})
	if err != nil {
		t.Fatal(err)
	}
	// As the core renders the notice.
	html := format.RenderMarkdown(reply, true, false).FormattedBody
	if strings.Contains(html, "<a ") || strings.Contains(html, "<strong>") || !strings.Contains(html, "[Ferry support](https://evil.example/) **urgent**") {
		t.Errorf("the WHOIS answer keeps the real name's Markdown live:\n%s", html)
	}
}
