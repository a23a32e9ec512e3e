package irc

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"gopkg.in/irc.v4"
	"maunium.net/go/mautrix/event"

	"github.com/ferrybridge/ferry/bridge/network"
	"github.com/ferrybridge/ferry/irc/ircconn"
)

func TestRelayName(t *testing.T) {
	for in, want := range map[string]string{
		"Dave":                          "Dave",
		"\x01ACTION da\x02ve\x0304,05x": "ACTION davex",
		"a\r\nQUIT :x":                  "aQUIT :x",
		" \x03\x01 ":                    "dave", // nothing left: the localpart
		strings.Repeat("é", 40):         strings.Repeat("é", 32),
	} {
		if got := relayName(in, "@dave:example.org"); got != want {
			t.Errorf("relayName(%q) = %q, want %q", in, got, want)
		}
	}
}

// TestRelayRefused: with relay_allowed false, a relayed message is refused
// with a UserError (shown to the sender), whether connected or not.
func TestRelayRefused(t *testing.T) {
	c := New()
	cfg := &NetworkConfig{Address: "127.0.0.1:6667", RelayAllowed: false}
	cl := newClient(c, cfg, &network.Login{ID: "test/@alice:ex.org", User: "@alice:ex.org"}, loginMeta{Network: "test"})
	msg := &network.OutgoingMessage{
		OutgoingMeta: network.OutgoingMeta{Portal: network.PortalKey{Network: NetworkID, Chat: "test/#chan"}, Sender: "@dave:ex.org", Relay: &network.RelaySender{DisplayName: "dave"}},
		Content:      &event.MessageEventContent{MsgType: event.MsgText, Body: "hi"},
	}
	_, err := cl.Send(context.Background(), msg)
	var ue *network.UserError
	if !errors.As(err, &ue) || !strings.Contains(ue.Message, "relaying is not allowed") {
		t.Errorf("relayed send gave %v", err)
	}
}

// TestRelayPMRefused: PMs are never relayed (nor is the relay bot dialed).
func TestRelayPMRefused(t *testing.T) {
	c := New()
	cfg := &NetworkConfig{Address: "127.0.0.1:1", RelayAllowed: true, RelayNick: DefaultRelayNick}
	login := network.LoginID("test/@alice:ex.org")
	cl := newClient(c, cfg, &network.Login{ID: login, User: "@alice:ex.org"}, loginMeta{Network: "test"})
	chat := pmChatID("test", ircconn.CaseMappingRFC1459, "bob", 0)
	msg := &network.OutgoingMessage{
		OutgoingMeta: network.OutgoingMeta{Portal: network.PortalKey{Network: NetworkID, Chat: chat, Receiver: login}, Sender: "@dave:ex.org", Relay: &network.RelaySender{DisplayName: "dave"}},
		Content:      &event.MessageEventContent{MsgType: event.MsgText, Body: "hi"},
	}
	_, err := cl.Send(context.Background(), msg)
	var ue *network.UserError
	if !errors.As(err, &ue) || !strings.Contains(ue.Message, "never relayed") {
		t.Errorf("relayed PM gave %v", err)
	}
	if len(c.relays) != 0 {
		t.Errorf("a relay bot was made for a PM")
	}
}

// TestRelayedContinuationKeepsTheSendersName: every piece of a long
// relayed message names its sender, emotes included, so that no piece
// reads as the relay bot's own line, or as "<admin> ..." from text
// crafted to land at the start of a continuation.
func TestRelayedContinuationKeepsTheSendersName(t *testing.T) {
	crafted := strings.Repeat("x", 470) + " <admin> I am the admin, please op me"
	for _, tc := range []struct {
		name    string
		msgType event.MessageType
		lead    string
	}{
		{"text", event.MsgText, "<dave> "},
		{"emote", event.MsgEmote, "\x01ACTION <dave> "},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := make(chan string, 16)
			addr := scriptedServer(t, "", func(line string, peer *scriptedPeer) {
				if strings.HasPrefix(line, "PRIVMSG #c ") {
					got <- line
				}
			})
			cl, _, conn := clientOn(t, addr)
			relayThrough(cl, conn)
			msg := textTo("test/#c", crafted)
			msg.Content.MsgType = tc.msgType
			msg.Sender, msg.Relay = "@dave:ex.org", &network.RelaySender{DisplayName: "dave"}
			if _, err := cl.Send(context.Background(), msg); err != nil {
				t.Fatal(err)
			}
			for i := 0; i < 2; i++ {
				select {
				case l := <-got:
					m, err := irc.ParseMessage(l)
					if err != nil {
						t.Fatal(err)
					}
					if !strings.HasPrefix(m.Trailing(), tc.lead) {
						t.Errorf("relayed piece %d does not name its sender: %q", i, m.Trailing())
					}
				case <-time.After(5 * time.Second):
					t.Fatalf("only %d of 2 pieces arrived", i)
				}
			}
		})
	}
}
