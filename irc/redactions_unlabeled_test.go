package irc

import (
	"context"
	"strings"
	"testing"
	"time"

	"maunium.net/go/mautrix/event"

	"github.com/ferrybridge/ferry/bridge/network"
)

// TestUnlabeledRedactionAnswer: without labeled-response a REDACT's
// answer comes in turn with the target's other lines: its echo, FAIL
// REDACT naming the target and msgid, or (Ergo, for a nick or a channel
// that is gone) 401 or 403. A FAIL or a 403 is the only sign that the message stays on IRC while
// Matrix shows it deleted, so the room is told, in the server's words.
// Every answer is the REDACT's: the refusal that follows refuses the
// next message, and the same words sent again take their own echo's
// msgid, not the refused message.
func TestUnlabeledRedactionAnswer(t *testing.T) {
	for _, tc := range []struct {
		name, target, answer, refusal, told string
	}{
		{"refused", "#c", ":srv FAIL REDACT REDACT_FORBIDDEN #c m1 :You are not authorised to delete this message",
			":srv 404 alice #c :Cannot send to channel (+m)",
			`⚠️ The deletion alice sent to #c was not made: test refused it, saying "You are not authorised to delete this message"`},
		{"refused by Ergo for a channel that is gone", "#c", ":srv 403 alice #c :No such channel",
			":srv 404 alice #c :Cannot send to channel (+m)",
			`⚠️ The deletion alice sent to #c was not made: test refused it, saying "No such channel"`},
		{"echoed", "#c", "@msgid=r1 :alice!alice@host REDACT #c m1", ":srv 404 alice #c :Cannot send to channel (+m)", ""},
		{"refused by a numeric", "carol", ":srv 401 alice carol :No such nick", ":srv 401 alice carol :No such nick", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			sent := make(chan string, 4)
			answer := firstRefusedThenEchoed(tc.target, []string{tc.refusal}, sent)
			addr := scriptedServer(t, "echo-message message-tags draft/message-redaction", func(line string, peer *scriptedPeer) {
				if strings.HasPrefix(line, "REDACT "+tc.target+" m1") {
					peer.write(tc.answer)
					return
				}
				answer(line, peer)
			})
			cl, host, _ := clientOn(t, addr)
			ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
			defer cancel()
			portal := network.PortalKey{Network: NetworkID, Chat: network.ChatID("test/" + tc.target)}
			if !cl.isChannelName(tc.target) {
				portal.Receiver = cl.loginID
			}
			if err := cl.Redact(ctx, &network.OutgoingRedaction{OutgoingMeta: network.OutgoingMeta{Portal: portal}, Target: "id:m1"}); err != nil {
				t.Fatalf("Redact: %v", err)
			}
			msg := textTo(portal.Chat, "hello")
			msg.Portal = portal
			sendWhileFirstWaits(t, ctx, cl, msg, sent, "message")
			var told []string
			host.lock.Lock()
			for _, evt := range host.events {
				if m, ok := evt.(*network.Message); ok && len(m.Parts) == 1 && m.Parts[0].Content.MsgType == event.MsgNotice &&
					strings.Contains(m.Parts[0].Content.Body, "deletion") {
					told = append(told, m.Parts[0].Content.Body)
					if m.Portal.Chat != portal.Chat {
						t.Errorf("the refused deletion was told in %v, want %v", m.Portal.Chat, portal.Chat)
					}
				}
			}
			host.lock.Unlock()
			switch {
			case tc.told == "" && len(told) != 0:
				t.Errorf("a deletion refused by no FAIL was told as refused: %q", told)
			case tc.told != "" && (len(told) != 1 || told[0] != tc.told):
				t.Errorf("the refused deletion was told as %q, want once %q", told, tc.told)
			}
		})
	}
}
