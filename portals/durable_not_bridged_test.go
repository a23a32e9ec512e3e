package portals

import (
	"net"
	"testing"
	"time"

	"github.com/ferrybridge/ferry/database"
	"github.com/ferrybridge/ferry/internal/dbtest"
	"github.com/ferrybridge/ferry/puppets"
)

// unreachableMatrix is a gateway to a homeserver that is not there (a
// port nobody listens on), which gives up after a moment.
func unreachableMatrix(t *testing.T) *puppets.Matrix {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	url := "http://" + ln.Addr().String()
	_ = ln.Close()
	m := matrixAt(t, url)
	m.RetryFor, m.FirstBackoff = 200*time.Millisecond, 10*time.Millisecond
	return m
}

// A stored event that will not be bridged (here one that cannot be
// decoded) is reported in the room. While the homeserver cannot be
// reached the report cannot go either: the event then stays stored, and
// the backlog waits behind it as behind any event the homeserver could
// not take, so that the room hears of it once it is back.
func TestStoredEventNotBridgedWaitsOutAnOutageToBeReported(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *database.Database) {
		setForTest(t, &ResumeAfterOutage, time.Hour)
		ctx, p, _, login := memberScene(t, db)
		p.m.matrix = unreachableMatrix(t)
		stopResumeTimerAtEnd(t, p)
		row := &database.RemoteEvent{Portal: p.Key, Login: login.ID, ReceivedAt: time.Now(), Payload: []byte(`{"type":"no such type","event":{}}`)}
		if err := db.RemoteEvents.Insert(ctx, row); err != nil {
			t.Fatal(err)
		}
		p.durable.pending.Add(1)
		p.durable.backlog.Store(true)

		p.handleStored(ctx, row)
		rows, err := db.RemoteEvents.Pending(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if len(rows) != 1 {
			t.Fatalf("%d events stored after the report could not go, want the event kept for it", len(rows))
		}
		if !p.durable.stalled.Load() {
			t.Error("the backlog goes on past an event whose report waits for the homeserver")
		}
		if n := p.durable.pending.Load(); n != 1 {
			t.Errorf("%d events counted as waiting, want 1", n)
		}
	})
}
