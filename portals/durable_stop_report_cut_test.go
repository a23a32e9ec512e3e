package portals

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"maunium.net/go/mautrix/event"
	"maunium.net/go/mautrix/id"

	"github.com/ferrybridge/ferry/bridge/network"
	"github.com/ferrybridge/ferry/database"
	"github.com/ferrybridge/ferry/internal/dbtest"
)

// cutDir is a noticeDir whose first notice waits for its context to end
// (a homeserver slow to answer as Ferry stops), and whose notices fail,
// as a real send does, once their context has ended.
type cutDir struct {
	*noticeDir
	once    sync.Once
	started chan struct{}
}

func (d *cutDir) NotifyUser(ctx context.Context, user id.UserID, content *event.MessageEventContent) error {
	first := false
	d.once.Do(func() { first = true })
	if first {
		close(d.started)
		<-ctx.Done()
		return ctx.Err()
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	return d.noticeDir.NotifyUser(ctx, user, content)
}

// Held notices are being tried, on the portal's goroutine, as Ferry
// stops: the stop ends that try. What it did not post is still to be
// posted by the stop's own try (reportAtStop), not only logged.
func TestStopPostsHeldNoticesItsCancelCutShort(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *database.Database) {
		setForTest(t, &ResumeAfterOutage, 20*time.Millisecond) // the held notices' try comes at once
		_, p, nd, login := roomlessScene(t, db)
		dir := &cutDir{noticeDir: nd, started: make(chan struct{})}
		p.m.dir = dir
		p.holdNotices([]heldNotice{{user: login.User, body: "one"}, {user: login.User, body: "two"}})

		select {
		case <-dir.started:
		case <-time.After(5 * time.Second):
			t.Fatal("the held notices were not tried")
		}
		p.m.Stop()
		got := nd.noticesOf(login.User)
		if len(got) != 2 || got[0] != "one" || got[1] != "two" {
			t.Errorf("alice's management room got %q by the end of the stop, want the held notices one and two", got)
		}
	})
}

// The same for the report of messages lost in an outage, of a portal
// without a room: told in the management room as Ferry stops.
func TestStopPostsTheLostReportItsCancelCutShort(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *database.Database) {
		setForTest(t, &ResumeAfterOutage, 20*time.Millisecond)
		_, p, nd, login := roomlessScene(t, db)
		dir := &cutDir{noticeDir: nd, started: make(chan struct{})}
		p.m.dir = dir
		p.noteLostInOutage(login, &network.Message{
			Meta:  network.Meta{Portal: p.Key, Sender: network.Sender{User: "bob"}, Timestamp: time.Now()},
			ID:    "lost",
			Parts: []network.Part{{Content: &event.MessageEventContent{MsgType: event.MsgText, Body: "hello"}}},
		})

		select {
		case <-dir.started:
		case <-time.After(5 * time.Second):
			t.Fatal("the lost-messages report was not tried")
		}
		p.m.Stop()
		got := nd.noticesOf(login.User)
		if len(got) != 1 || !strings.Contains(got[0], "was not bridged") {
			t.Errorf("alice's management room got %q by the end of the stop, want the report of the message lost", got)
		}
	})
}
