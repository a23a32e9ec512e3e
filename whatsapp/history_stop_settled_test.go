package whatsapp

import (
	"testing"

	"github.com/ferrybridge/ferry/bridge/network"
)

// TestHistoryTakenJustBeforeAStopIsNotHandedOverAgain: the core takes a
// chat's history, and Ferry's stop begins before the worker marks the
// chat done. The chat is in Matrix: it must be forgotten like any chat
// handed over, not kept stored to be handed over again at the next
// start. The chats not reached stay stored.
func TestHistoryTakenJustBeforeAStopIsNotHandedOverAgain(t *testing.T) {
	db := sqliteDB(t)
	env := newEnv(t, db, historyConfig)
	env.cl.Connect(env.ctx)
	bobChat := privatePortal(bobPN, ownLogin)
	env.host.handle = func(evt network.Event) error {
		if bf, ok := evt.(*network.Backfill); ok && bf.Portal == bobChat {
			// The stop begins while the core answers: the connector's
			// background context ends before the worker hears the answer.
			env.conn.bgCancel()
		}
		return nil
	}
	queueThreeChats(t, env) // Bob's chat first, then the group's and Dana's
	env.conn.Stop(env.ctx)
	if n := storedHistoryChats(t, db); n != 2 {
		t.Errorf("%d chats stored for their history after the stop; want 2 (the group's and Dana's): Bob's, which the core took, would be handed over again at the next start", n)
	}
}
