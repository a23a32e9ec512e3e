package portals

import (
	"strings"
	"testing"
	"time"

	"maunium.net/go/mautrix/event"

	"github.com/ferrybridge/ferry/bridge/network"
	"github.com/ferrybridge/ferry/database"
	"github.com/ferrybridge/ferry/internal/dbtest"
)

// The report of messages lost in an outage, and a notice held through
// one, wait for the homeserver to come back; they live in memory only.
// When Ferry stops first, the stop tries once more to post them, so that
// the user hears of the messages rather than the log alone.
func TestStopPostsTheReportsStillPending(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *database.Database) {
		setForTest(t, &ResumeAfterOutage, time.Hour) // no try is due before the stop
		_, p, dir, login := roomlessScene(t, db)
		lost := &network.Message{
			Meta:  network.Meta{Portal: p.Key, Sender: network.Sender{User: "bob"}, Timestamp: time.Now()},
			ID:    "lost",
			Parts: []network.Part{{Content: &event.MessageEventContent{MsgType: event.MsgText, Body: "hello"}}},
		}
		p.noteLostInOutage(login, lost)
		p.holdNotices([]heldNotice{{user: login.User, body: "⚠️ a held notice"}})

		p.m.Stop()
		got := dir.noticesOf(login.User)
		if len(got) != 2 {
			t.Fatalf("alice's management room got %q at the stop, want the lost-messages report and the held notice", got)
		}
		if !strings.Contains(got[0], "A message from Testnet") || !strings.Contains(got[0], "was not bridged") {
			t.Errorf("first notice %q; want the report of the message lost", got[0])
		}
		if got[1] != "⚠️ a held notice" {
			t.Errorf("second notice %q; want the held notice", got[1])
		}
	})
}

// The stop's try is short: a homeserver that does not answer holds the
// stop for StopReportTimeout at most, not for the retries of a send.
func TestStopReportsAreBounded(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *database.Database) {
		setForTest(t, &ResumeAfterOutage, time.Hour)
		setForTest(t, &StopReportTimeout, 300*time.Millisecond)
		_, p, dir, login := roomlessScene(t, db)
		dir.hang = true
		p.holdNotices([]heldNotice{{user: login.User, body: "one"}, {user: login.User, body: "two"}})

		start := time.Now()
		p.m.Stop()
		if took := time.Since(start); took > 3*time.Second {
			t.Errorf("the stop took %v with the homeserver not answering, want about StopReportTimeout", took)
		}
	})
}
