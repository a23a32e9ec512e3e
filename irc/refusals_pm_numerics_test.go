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

// TestPMRefusedForCallerID: Solanum and charybdis (and InspIRCd's
// callerid module) refuse a PM to a user in +g caller-id mode with 716
// ERR_TARGUMODEG, and may follow it with 717 RPL_TARGNOTIFY, which only
// says the user was told of the attempt. The PM did not arrive: the PM
// room is told, and the refusal answers the line.
func TestPMRefusedForCallerID(t *testing.T) {
	pmRefusedBy(t, []string{
		":srv 716 alice carol :is in +g mode (server-side ignore).",
		":srv 717 alice carol :has been informed that you messaged them.",
	}, "+g mode (server-side ignore)")
}

// TestPMRefusedForNotBeingLoggedIn: charybdis and Solanum refuse a PM to
// a user in +R mode, taking PMs from logged-in users only, with 486
// ERR_NONONREG.
func TestPMRefusedForNotBeingLoggedIn(t *testing.T) {
	pmRefusedBy(t, []string{
		":srv 486 alice carol :You must log in with services to message this user",
	}, "You must log in with services")
}

// pmRefusedBy sends a PM to carol twice with the same words on a scripted
// server with echo-message and no labeled-response: the first is answered
// with the refusal lines, the second (sent while the first still waits)
// is echoed as m2. The second must take id:m2, the first must not, and
// the PM room must get a notice containing told. It returns the host,
// for more checks of what was queued.
func pmRefusedBy(t *testing.T, refusal []string, told string) *fakeHost {
	t.Helper()
	sent := make(chan string, 4)
	var privmsgs atomic.Int32
	addr := scriptedServer(t, "echo-message message-tags", func(line string, peer *scriptedPeer) {
		if !strings.HasPrefix(line, "PRIVMSG carol ") {
			return
		}
		if privmsgs.Add(1) == 1 {
			for _, l := range refusal {
				peer.write(l)
			}
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
	firstID, secondID := sendWhileFirstWaits(t, ctx, cl, pm, sent, "PM")
	if secondID != "id:m2" {
		t.Errorf("the second PM took the ID %q, want id:m2", secondID)
	}
	if firstID == "id:m2" {
		t.Errorf("the refused first PM took the second one's msgid")
	}
	notices := 0
	host.lock.Lock()
	for _, evt := range host.events {
		if m, ok := evt.(*network.Message); ok && len(m.Parts) == 1 {
			if c := m.Parts[0].Content; c != nil && c.MsgType == event.MsgNotice && strings.Contains(c.Body, told) {
				notices++
				if m.Portal.Chat != "test/carol" {
					t.Errorf("the refusal was told in %q, want the PM room test/carol", m.Portal.Chat)
				}
			}
		}
	}
	host.lock.Unlock()
	if notices != 1 {
		t.Errorf("the PM room got %d notices of the refusal, want 1", notices)
	}
	return host
}
