package irc

import (
	"context"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"maunium.net/go/mautrix/event"

	"github.com/ferrybridge/ferry/bridge/network"
)

// TestPMRefusedByTheUsersMode: InspIRCd refuses a PM to a user whose
// mode forbids it (+c common channels, +R registered only) with 531
// ERR_CANTSENDTOUSER. Without labeled-response that refusal is all the
// user can hear: the PM room is told, and the refused line is answered,
// so that the same words sent again once carol allows it take their own
// echo's msgid, not the refused line.
func TestPMRefusedByTheUsersMode(t *testing.T) {
	sent := make(chan string, 4)
	var privmsgs atomic.Int32
	addr := scriptedServer(t, "echo-message message-tags", func(line string, peer *scriptedPeer) {
		if !strings.HasPrefix(line, "PRIVMSG carol ") {
			return
		}
		if privmsgs.Add(1) == 1 {
			peer.write(":srv 531 alice carol :You cannot send messages to this user whilst they have the +c (deaf_commonchan) mode set.")
		} else {
			peer.write("@msgid=m2 :alice!alice@host PRIVMSG carol :hello")
		}
		sent <- line
	})
	cl, host, _ := clientOn(t, addr)
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	pm := textTo("test/carol", "hello")
	pm.Portal.Receiver = cl.loginID
	first := make(chan network.MessageID, 1)
	go func() {
		res, err := cl.Send(ctx, pm)
		if err != nil {
			t.Errorf("the first Send: %v", err)
			first <- ""
			return
		}
		first <- res.ID
	}()
	select {
	case <-sent:
	case <-ctx.Done():
		t.Fatal("the server never got the first PM")
	}
	res, err := cl.Send(ctx, pm)
	if err != nil {
		t.Fatalf("the second Send: %v", err)
	}
	if res.ID != "id:m2" {
		t.Errorf("the second PM took the ID %q, want id:m2", res.ID)
	}
	if id := <-first; id == "id:m2" {
		t.Errorf("the refused first PM took the second one's msgid")
	}
	told := false
	host.lock.Lock()
	for _, evt := range host.events {
		if m, ok := evt.(*network.Message); ok && len(m.Parts) == 1 {
			if c := m.Parts[0].Content; c != nil && c.MsgType == event.MsgNotice && strings.Contains(c.Body, "+c (deaf_commonchan)") {
				told = true
			}
		}
	}
	host.lock.Unlock()
	if !told {
		t.Error("the PM room was not told of the refusal")
	}
}
