package irc

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"maunium.net/go/mautrix/event"

	"github.com/ferrybridge/ferry/bridge/network"
)

// TestSendRefusesBadPMTarget: a DM portal made before StartDM checked
// nicks can have a key whose nick is a target list or a channel. A
// message or a correction there is refused with a UserError and nothing
// goes out; a DM with a real nick, UTF-8 ones too, still sends.
func TestSendRefusesBadPMTarget(t *testing.T) {
	privmsgs := make(chan string, 10)
	addr := scriptedServer(t, "", func(line string, _ *scriptedPeer) {
		if strings.HasPrefix(line, "PRIVMSG ") {
			privmsgs <- line
		}
	})
	cl, _, _ := clientOn(t, addr)
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	pm := func(chat network.ChatID, body string) *network.OutgoingMessage {
		msg := textTo(chat, body)
		msg.Portal.Receiver = cl.loginID
		return msg
	}
	for _, chat := range []network.ChatID{"test/bob,nickserv", "test/#chan", "test/&local", "test/+#chan", "test/$*", "test/bob@irc.example", "test/bob nickserv", "test/:bob"} {
		_, err := cl.Send(ctx, pm(chat, "to "+string(chat)))
		var ue *network.UserError
		if !errors.As(err, &ue) {
			t.Errorf("Send to the PM portal %q: %v; want a UserError", chat, err)
		}
		err = cl.Edit(ctx, &network.OutgoingEdit{
			OutgoingMeta: network.OutgoingMeta{Portal: network.PortalKey{Network: NetworkID, Chat: chat, Receiver: cl.loginID}, Sender: "@alice:ex.org"},
			Content:      &event.MessageEventContent{MsgType: event.MsgText, Body: "fixed"},
		})
		if !errors.As(err, &ue) {
			t.Errorf("Edit in the PM portal %q: %v; want a UserError", chat, err)
		}
	}
	// A nick from an incoming PM may be UTF-8 where the network allows it.
	for _, nick := range []string{"bob", "josé"} {
		if _, err := cl.Send(ctx, pm(network.ChatID("test/"+nick), "good")); err != nil {
			t.Fatalf("Send to %s: %v", nick, err)
		}
		select {
		case line := <-privmsgs:
			if line != "PRIVMSG "+nick+" good" && line != "PRIVMSG "+nick+" :good" {
				t.Errorf("the server got %q, not the PRIVMSG to %s", line, nick)
			}
		case <-ctx.Done():
			t.Fatalf("the server never got the PRIVMSG to %s", nick)
		}
	}
}
