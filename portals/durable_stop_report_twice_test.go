package portals

import (
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"maunium.net/go/mautrix/event"

	"github.com/ferrybridge/ferry/bridge/network"
	"github.com/ferrybridge/ferry/database"
	"github.com/ferrybridge/ferry/internal/dbtest"
)

// takenLateHomeserver is a stand-in homeserver that takes the first
// event sent to it and answers only once the client has given up on it
// (a stop cancelling the request as it arrives): the event is posted,
// but Ferry cannot know. Later sends are answered at once; a send with
// a transaction ID it has taken already is answered with the event it
// made then, and posts nothing, as homeservers do.
type takenLateHomeserver struct {
	mu     sync.Mutex
	posted []string // the bodies of the events posted, in order
	byTxn  map[string]bool
	taken  chan struct{} // closed once the first event is taken
}

func (h *takenLateHomeserver) send(w http.ResponseWriter, r *http.Request, body string) {
	txn := r.URL.Path[strings.LastIndex(r.URL.Path, "/")+1:]
	h.mu.Lock()
	first := len(h.byTxn) == 0
	if !h.byTxn[txn] {
		h.byTxn[txn] = true
		h.posted = append(h.posted, body)
	}
	h.mu.Unlock()
	if first {
		close(h.taken)
		<-r.Context().Done()
		return
	}
	fmt.Fprintf(w, `{"event_id":"$%s"}`, txn)
}

// roomReportScene is a portal with a room, whose Matrix gateway is hs.
func roomReportScene(t *testing.T, db *database.Database, hs *takenLateHomeserver) (*Portal, *network.Login) {
	t.Helper()
	hs.byTxn = map[string]bool{}
	hs.taken = make(chan struct{})
	login := &network.Login{ID: "alice", User: "@alice:example.org"}
	return stubRoomPortal(t, db, hs.send, login), login
}

// stopAsTaken waits until hs has taken the first event, then stops p's
// manager, and returns the bodies posted by the end of the stop.
func stopAsTaken(t *testing.T, p *Portal, hs *takenLateHomeserver) []string {
	t.Helper()
	select {
	case <-hs.taken:
	case <-time.After(5 * time.Second):
		t.Fatal("the report was not tried")
	}
	p.m.Stop()
	hs.mu.Lock()
	defer hs.mu.Unlock()
	return append([]string(nil), hs.posted...)
}

// The report of messages lost in an outage reaches the homeserver just
// as the stop cancels its try: the homeserver posts it, but the try
// fails, and the stop's own try posts it again. Both tries must be one
// transaction, so that the homeserver posts it once.
func TestLostReportTheStopCutShortAsItArrivedIsPostedOnce(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *database.Database) {
		setForTest(t, &ResumeAfterOutage, 20*time.Millisecond) // the report's try comes at once
		hs := &takenLateHomeserver{}
		p, login := roomReportScene(t, db, hs)
		p.noteLostInOutage(login, &network.Message{
			Meta:  network.Meta{Portal: p.Key, Sender: network.Sender{User: "bob"}, Timestamp: time.Now()},
			ID:    "lost",
			Parts: []network.Part{{Content: &event.MessageEventContent{MsgType: event.MsgText, Body: "hello"}}},
		})
		got := stopAsTaken(t, p, hs)
		if len(got) != 1 || !strings.Contains(got[0], "was not bridged") {
			t.Errorf("the room got %q by the end of the stop; want the report of the message lost, once", got)
		}
	})
}

// The same for notices held through an outage, for the portal's room.
func TestHeldNoticeTheStopCutShortAsItArrivedIsPostedOnce(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *database.Database) {
		setForTest(t, &ResumeAfterOutage, 20*time.Millisecond) // the held notices' try comes at once
		hs := &takenLateHomeserver{}
		p, _ := roomReportScene(t, db, hs)
		p.holdNotices([]heldNotice{{body: "one"}, {body: "two"}})
		got := stopAsTaken(t, p, hs)
		if fmt.Sprint(got) != fmt.Sprint([]string{"one", "two"}) {
			t.Errorf("the room got %q by the end of the stop; want one and two, once each", got)
		}
	})
}
