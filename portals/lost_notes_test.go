package portals

import (
	"errors"
	"strings"
	"testing"
	"time"

	"maunium.net/go/mautrix/event"

	"github.com/ferrybridge/ferry/bridge/network"
	"github.com/ferrybridge/ferry/database"
	"github.com/ferrybridge/ferry/internal/dbtest"
)

// A loss noted for one hand-over of an event is not reported while a
// later hand-over of the same event is still on its way: that one may
// bridge it. It is reported once the later one is lost as well.
func TestLostReportWaitsForALaterHandOverOfTheSameEvent(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *database.Database) {
		setForTest(t, &ResumeAfterOutage, time.Hour) // reportLost is called by hand
		ctx, p, dir, login := roomlessScene(t, db)
		msg := func() *network.Message {
			return &network.Message{
				Meta:  network.Meta{Portal: p.Key, Sender: network.Sender{User: "bob"}, Timestamp: time.Unix(1700000000, 0)},
				ID:    "twice",
				Parts: []network.Part{{Content: &event.MessageEventContent{MsgType: event.MsgText, Body: "hello"}}},
			}
		}
		p.noteLostInOutage(login, msg())
		later := &queueItem{remote: msg(), login: login, wait: newRemoteWait()}
		p.startHandover(later)

		_ = p.reportLost(ctx)
		if got := dir.noticesOf(login.User); len(got) != 0 {
			t.Fatalf("reported %q while a later hand-over of the message was on its way", got)
		}

		p.settleHandover(later, false) // lost as well
		_ = p.reportLost(ctx)
		got := dir.noticesOf(login.User)
		if len(got) != 1 || !strings.Contains(got[0], "A message from Testnet") {
			t.Errorf("the management room got %q, want the report of the message lost, once", got)
		}
	})
}

// Nor is it reported while stored events wait to be drained: a later
// hand-over may be among them, stored behind the backlog.
func TestLostReportWaitsForTheStoredBacklog(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *database.Database) {
		setForTest(t, &ResumeAfterOutage, time.Hour) // reportLost is called by hand
		ctx, p, dir, login := roomlessScene(t, db)
		p.noteLostInOutage(login, &network.Message{
			Meta:  network.Meta{Portal: p.Key, Sender: network.Sender{User: "bob"}, Timestamp: time.Now()},
			ID:    "behind",
			Parts: []network.Part{{Content: &event.MessageEventContent{MsgType: event.MsgText, Body: "hello"}}},
		})
		p.durable.backlog.Store(true)
		_ = p.reportLost(ctx)
		if got := dir.noticesOf(login.User); len(got) != 0 {
			t.Fatalf("reported %q while stored events still waited", got)
		}
		p.durable.backlog.Store(false)
		_ = p.reportLost(ctx)
		if got := dir.noticesOf(login.User); len(got) != 1 {
			t.Errorf("the management room got %q, want the report of the message lost, once", got)
		}
	})
}

// A network's leaving and the outcome meet under one lock: an outcome
// that came before the network left is the network's; one after is
// known to be unheard.
func TestRemoteWaitLeave(t *testing.T) {
	w := newRemoteWait()
	failed := errors.New("failed")
	if !w.tell(failed) {
		t.Fatal("an outcome told while the network waits was not heard")
	}
	if err, came := w.Leave(); !came || err != failed {
		t.Errorf("Leave after the outcome gave %v, %v; want the outcome", err, came)
	}

	w = newRemoteWait()
	if _, came := w.Leave(); came {
		t.Error("Leave before any outcome says one came")
	}
	if w.tell(failed) {
		t.Error("an outcome told after the network left counts as heard")
	}
}
