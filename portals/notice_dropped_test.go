package portals

import (
	"context"
	"errors"
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

// noticeDir is the bridge's directory with management rooms that record
// the notices posted in them; fail, when set, decides each one's fate,
// failUser each one's by the user it is for.
type noticeDir struct {
	*loginDir
	mu       sync.Mutex
	notices  map[id.UserID][]*event.MessageEventContent
	fail     func() error
	failUser func(user id.UserID) error
	// hang: NotifyUser waits for its context to end, as a send to a
	// homeserver that does not answer is retried until then.
	hang bool
}

func (d *noticeDir) NotifyUser(ctx context.Context, user id.UserID, content *event.MessageEventContent) error {
	if d.hang {
		<-ctx.Done()
		return ctx.Err()
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.fail != nil {
		if err := d.fail(); err != nil {
			return err
		}
	}
	if d.failUser != nil {
		if err := d.failUser(user); err != nil {
			return err
		}
	}
	if d.notices == nil {
		d.notices = make(map[id.UserID][]*event.MessageEventContent)
	}
	d.notices[user] = append(d.notices[user], content)
	return nil
}

// noticesOf are the bodies of the notices posted in user's management
// room.
func (d *noticeDir) noticesOf(user id.UserID) []string {
	var bodies []string
	for _, content := range d.noticeContentsOf(user) {
		bodies = append(bodies, content.Body)
	}
	return bodies
}

// noticeContentsOf are the notices posted in user's management room.
func (d *noticeDir) noticeContentsOf(user id.UserID) []*event.MessageEventContent {
	d.mu.Lock()
	defer d.mu.Unlock()
	return append([]*event.MessageEventContent(nil), d.notices[user]...)
}

// roomlessScene is memberScene's bridge with management rooms
// (noticeDir) and a portal of a chat that has no room yet.
func roomlessScene(t *testing.T, db *database.Database) (context.Context, *Portal, *noticeDir, *network.Login) {
	t.Helper()
	ctx, shared, dir, login := memberScene(t, db)
	nd := &noticeDir{loginDir: dir}
	shared.m.dir = nd
	p, err := shared.m.Get(ctx, network.PortalKey{Network: "test", Chat: "#new"})
	if err != nil {
		t.Fatal(err)
	}
	if p.RoomID != "" {
		t.Fatal("the scene needs a portal without a room")
	}
	return ctx, p, nd, login
}

// A message refused because the portal's queue was full is reported once
// the portal has caught up. A portal that has no room yet (its room could
// not be created) tells the user whose login the message came through,
// in their management room, as its other notices do.
func TestDroppedEventOfARoomlessPortalIsToldInTheManagementRoom(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *database.Database) {
		ctx, p, dir, login := roomlessScene(t, db)
		setForTest(t, &MaxPendingPerPortal, 0) // every event is refused
		msg := &network.Message{
			Meta:  network.Meta{Portal: p.Key, Sender: network.Sender{User: "bob"}, Timestamp: time.Now()},
			ID:    "refused",
			Parts: []network.Part{{Content: &event.MessageEventContent{MsgType: event.MsgText, Body: "hello"}}},
		}
		if err := p.m.QueueDurable(ctx, login, msg); !errors.Is(err, ErrQueueFull) {
			t.Fatalf("QueueDurable: %v; the scene needs the event refused", err)
		}

		p.reportDropped(ctx)
		got := dir.noticesOf(login.User)
		if len(got) != 1 {
			t.Fatalf("alice's management room got %q, want one notice of the dropped message", got)
		}
		for _, want := range []string{"A message from Testnet", "#new, which has no Matrix room yet, could not be bridged"} {
			if !strings.Contains(got[0], want) {
				t.Errorf("the notice %q does not say %q", got[0], want)
			}
		}
	})
}
