package whatsapp

import (
	"strings"
	"testing"
	"time"

	"go.mau.fi/whatsmeow/proto/waHistorySync"
	"go.mau.fi/whatsmeow/types"
	"go.mau.fi/whatsmeow/types/events"
	"maunium.net/go/mautrix/event"
	"maunium.net/go/mautrix/id"

	"github.com/ferrybridge/ferry/bridge/network"
	"github.com/ferrybridge/ferry/internal/ferrytest"
)

// TestE2EHistoryAfterARestartStaysAboveLiveMessages: WhatsApp sends a new
// login's history in several blobs, minutes apart, and Ferry restarts
// between two of them (a later blob then arrives at the reconnect). Bob's
// chat had no history yet, but a live message. The later blob brings the
// chat's history, all older than that message, which the real core would
// append below it in the room, as new messages: the room must not show
// history below live messages.
func TestE2EHistoryAfterARestartStaysAboveLiveMessages(t *testing.T) {
	conn := New()
	s := startStoredLogin(t, conn, ferrytest.Options{Sections: map[network.NetworkID]string{NetworkID: historyConfig}})
	alice, mgmt := s.alice, s.mgmt
	bob := ghostOf(bobPN.User)
	start := time.Now().Add(-3 * time.Hour).Truncate(time.Second)
	var room id.RoomID
	live := func(cl *Client, msgID, text string, at time.Time) {
		t.Helper()
		evt := &events.Message{
			Info:       types.MessageInfo{MessageSource: types.MessageSource{Chat: bobPN, Sender: bobPN}, ID: msgID, Timestamp: at},
			RawMessage: plain(text),
		}
		if failed := cl.cli.DangerousInternals().DispatchEvent(evt.UnwrapRaw()); failed {
			t.Fatalf("live message %s was not bridged", msgID)
		}
		if room == "" {
			room = joinPortal(t, alice, mgmt)
		}
		alice.WaitForEvent(t, room, 30*time.Second, saysText(bob, text))
	}
	live(s.cl, "L1", "live 1", time.Now().Add(-2*time.Minute).Truncate(time.Second))

	s.h.StopBridge()
	s.h.StartBridge()
	cl := waitForLogin(t, conn)
	// The RECENT blob, made when the phone linked Ferry: the chat's
	// history, nothing of the live message.
	cl.cli.DangerousInternals().DispatchEvent(historySync(waHistorySync.HistorySync_RECENT, conversation(bobPN,
		webMsg(bobPN, "H3", false, types.EmptyJID, start.Add(2*time.Minute), plain("history 3")),
		webMsg(bobPN, "H2", false, types.EmptyJID, start.Add(time.Minute), plain("history 2")),
		webMsg(bobPN, "H1", false, types.EmptyJID, start, plain("history 1")),
	)))
	// A live message after it shows that the blob was dealt with.
	live(cl, "L2", "live 2", time.Now().Truncate(time.Second))

	var bodies []string
	for _, evt := range alice.Events(room) {
		if msg := evt.Content.AsMessage(); evt.Type == event.EventMessage && evt.Sender == bob && msg != nil {
			bodies = append(bodies, msg.Body)
		}
	}
	if got, want := strings.Join(bodies, ", "), "live 1, live 2"; got != want {
		t.Errorf("Bob's messages in the room:\n got %s\nwant %s", got, want)
	}
}
