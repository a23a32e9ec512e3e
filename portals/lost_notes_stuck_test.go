package portals

import (
	"strings"
	"sync"
	"testing"
	"time"

	"maunium.net/go/mautrix/event"

	"github.com/ferrybridge/ferry/bridge/network"
	"github.com/ferrybridge/ferry/database"
	"github.com/ferrybridge/ferry/internal/dbtest"
)

// A loss noted while stored events wait is held back for them: a later
// hand-over of the event may be among them. A backlog that never drains
// (its events stored before the restart, for a login that never loads)
// held the note until the stop, and the room heard nothing for as long
// as Ferry ran. Once the backlog is found stuck the note is reported, on
// the portal's goroutine, once.
func TestLostNoteIsReportedWhileTheBacklogStaysStuck(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *database.Database) {
		setForTest(t, &ResumeAfterOutage, 20*time.Millisecond) // the report's tries
		ctx, p, dir, login := roomlessScene(t, db)
		m := p.m
		var stopOnce sync.Once
		stop := func() { stopOnce.Do(m.Stop) }
		t.Cleanup(stop) // before ResumeAfterOutage is set back: no timer runs then
		stuck := textFrom(p, "bob", "stored before the restart")
		stuck.Portal = p.Key
		storeQueued(t, ctx, db, p, login.ID, stuck)
		p.durable.pending.Store(0) // HoldDurable counts it
		if _, err := m.HoldDurable(ctx); err != nil {
			t.Fatal(err)
		}
		// The replay never comes: the backlog stays held.

		p.noteLostInOutage(login, &network.Message{
			Meta:  network.Meta{Portal: p.Key, Sender: network.Sender{User: "bob"}, Timestamp: time.Now()},
			ID:    "lost",
			Parts: []network.Part{{Content: &event.MessageEventContent{MsgType: event.MsgText, Body: "hello"}}},
		})
		deadline := time.Now().Add(5 * time.Second)
		for len(dir.noticesOf(login.User)) == 0 && time.Now().Before(deadline) {
			time.Sleep(10 * time.Millisecond)
		}
		got := dir.noticesOf(login.User)
		if len(got) != 1 || !strings.Contains(got[0], "A message from Testnet") {
			t.Fatalf("while the backlog stayed stuck, the management room got %q; want the report of the message lost", got)
		}
		if !p.durable.backlog.Load() {
			t.Fatal("the scene needs the backlog still waiting")
		}

		time.Sleep(10 * ResumeAfterOutage) // more tries
		stop()
		if got = dir.noticesOf(login.User); len(got) != 1 {
			t.Errorf("the management room got %q; want the one report, not told again", got)
		}
	})
}
