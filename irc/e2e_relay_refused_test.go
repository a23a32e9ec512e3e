package irc

import (
	"strings"
	"testing"

	"gopkg.in/irc.v4"
	"maunium.net/go/mautrix/event"
	"maunium.net/go/mautrix/id"

	"github.com/ferrybridge/ferry/internal/testbed"
)

// TestE2ERelayRefused (slow): #mod is moderated (+m), so the relay bot,
// not voiced, may not speak there. dave, a Matrix user without an IRC
// login, writes through it: the room hears that the server refused his
// message, whether the server answers the bot's line by label (InspIRCd
// as it is) or only with an unlabeled 404 (labeled-response taken out of
// its capabilities, as on Solanum).
func TestE2ERelayRefused(t *testing.T) {
	for _, labeled := range []bool{true, false} {
		name := "labeled"
		if !labeled {
			name = "unlabeled"
		}
		t.Run(name, func(t *testing.T) {
			var through func(string) string
			if !labeled {
				through = func(addr string) string {
					p := newHoldProxy(t, addr)
					p.rewrite = withoutCap("labeled-response")
					return p.addr
				}
			}
			testRelayRefused(t, startEnvVia(t, testbed.InspIRCdOptions{}, "", through))
		})
	}
}

func testRelayRefused(t *testing.T, e *ircEnv) {
	r := e.relayingTo(t, "#mod", "")
	dave, cl, room, bob := r.dave, r.aliceClient, r.room, r.bob
	// The bot joins before the channel is moderated.
	dave.SendText(t, room, "before +m")
	if m := bob.expect("the relayed line", isCmd("PRIVMSG", "ferry-relay"), nil); !strings.HasSuffix(m.Param(1), "before +m") {
		t.Fatalf("relayed line arrived as %q", m.Param(1))
	}

	if err := cl.currentConn().Send(&irc.Message{Command: "MODE", Params: []string{"#mod", "+m"}}); err != nil {
		t.Fatal(err)
	}
	bob.expect("the +m", isCmd("MODE", "alice"), nil)
	seen := map[id.EventID]bool{}
	for _, evt := range dave.Events(room) {
		seen[evt.ID] = true
	}
	dave.SendText(t, room, "while moderated")
	notice := dave.WaitForEvent(t, room, waitLong, func(evt *event.Event) bool {
		msg := evt.Content.AsMessage()
		return !seen[evt.ID] && evt.Type == event.EventMessage && msg != nil && msg.MsgType == event.MsgNotice && evt.Sender != dave.UserID
	})
	body := notice.Content.AsMessage().Body
	t.Logf("the room heard from %s: %q", notice.Sender, body)
	if !strings.Contains(body, "refused") || !strings.Contains(body, "+m") {
		t.Errorf("the refusal was reported as %q", body)
	}
}
