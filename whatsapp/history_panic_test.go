package whatsapp

import (
	"strings"
	"testing"
	"time"

	"github.com/ferrybridge/ferry/bridge/network"
)

// TestHistoryChatThatPanicsIsSkippedAndReported: handing one chat's
// history over panics (here the core's HandleEvent; any fault in
// converting what the phone sent would do the same). The history worker
// runs outside whatsmeow's handler, which recovers live messages' panics:
// unrecovered, the panic ended the whole bridge, and as the chat stays
// stored for the next start, ended it again at every start. The chat must
// be given up, its user told, its stored history forgotten, and the other
// chats still get theirs.
func TestHistoryChatThatPanicsIsSkippedAndReported(t *testing.T) {
	db := sqliteDB(t)
	env := newEnv(t, db, historyConfig)
	env.cl.Connect(env.ctx)
	bobChat := privatePortal(bobPN, ownLogin)
	env.host.handle = func(evt network.Event) error {
		if bf, ok := evt.(*network.Backfill); ok && bf.Portal == bobChat {
			panic("history of Bob's chat")
		}
		return nil
	}
	queueThreeChats(t, env) // Bob's chat first, then the group's and Dana's
	got := env.waitHandled(t, 3)
	if n := len(got); n != 3 {
		t.Fatalf("handled %s; want the three backfills", describe(got))
	}
	for deadline := time.Now().Add(10 * time.Second); storedHistoryChats(t, db) != 0; time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("%d chats still stored for their history; the one that panicked would panic again at the next start", storedHistoryChats(t, db))
		}
	}
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		env.host.mu.Lock()
		notices := strings.Join(env.host.notices, "\n")
		env.host.mu.Unlock()
		if strings.Contains(notices, "history") && strings.Contains(notices, "+"+bobPN.User) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("the user was not told that the history of the chat with Bob was not bridged; notices: %q", notices)
		}
	}
}
