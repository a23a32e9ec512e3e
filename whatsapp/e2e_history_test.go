package whatsapp

import (
	"strings"
	"testing"
	"time"

	"go.mau.fi/whatsmeow/proto/waHistorySync"
	"go.mau.fi/whatsmeow/types"
	"maunium.net/go/mautrix/event"
	"maunium.net/go/mautrix/id"

	"github.com/ferrybridge/ferry/bridge/network"
	"github.com/ferrybridge/ferry/internal/ferrytest"
)

// TestE2EHistorySyncBackfillsBeforeTheInvite runs a history sync through
// the real client of a stored login, in the real bridge with a real
// Dendrite: the DM room is created with its history, oldest first with
// the original times, and only then is the user invited.
func TestE2EHistorySyncBackfillsBeforeTheInvite(t *testing.T) {
	s := startStoredLogin(t, New(), ferrytest.Options{Sections: map[network.NetworkID]string{NetworkID: historyConfig}})
	alice, mgmt, cl := s.alice, s.mgmt, s.cl
	start := time.Now().Add(-3 * time.Hour).Truncate(time.Second)
	cl.cli.DangerousInternals().DispatchEvent(historySync(waHistorySync.HistorySync_INITIAL_BOOTSTRAP, conversation(bobPN,
		webMsg(bobPN, "B3", false, types.EmptyJID, start.Add(2*time.Minute), plain("history 3")),
		webMsg(bobPN, "B1", false, types.EmptyJID, start, plain("history 1")),
		webMsg(bobPN, "B2", true, types.EmptyJID, start.Add(time.Minute), plain("history 2")),
	)))

	room := joinPortal(t, alice, mgmt)
	bob := id.UserID("@whatsapp_" + bobPN.User + ":localhost")
	alice.WaitForEvent(t, room, 30*time.Second, func(evt *event.Event) bool {
		msg := evt.Content.AsMessage()
		return evt.Sender == bob && msg != nil && msg.Body == "history 3"
	})
	next, invited := 1, false
	for _, evt := range alice.Events(room) {
		if evt.Type == event.StateMember && evt.GetStateKey() == alice.UserID.String() {
			invited = true
		}
		msg := evt.Content.AsMessage()
		if evt.Type != event.EventMessage || msg == nil || !strings.HasPrefix(msg.Body, "history ") {
			continue
		}
		want := start.Add(time.Duration(next-1) * time.Minute)
		if msg.Body != "history "+string(rune('0'+next)) || evt.Timestamp != want.UnixMilli() || invited {
			t.Errorf("history message %d: %q at %d (want %d), after the invite: %v", next, msg.Body, evt.Timestamp, want.UnixMilli(), invited)
		}
		next++
	}
	if next != 4 {
		t.Errorf("%d of 3 history messages arrived", next-1)
	}
}
