package portals

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"maunium.net/go/mautrix/event"

	"github.com/ferrybridge/ferry/bridge/network"
	"github.com/ferrybridge/ferry/database"
	"github.com/ferrybridge/ferry/internal/dbtest"
	"github.com/ferrybridge/ferry/puppets"
)

// A notice to a management room that the homeserver cannot take (it was
// given up as unreachable after RetryFor) is the user's only word of the
// messages it is about. It is held, and posted once the homeserver takes
// it again, as the report of messages lost in an outage is.
func TestNoticeToTheManagementRoomIsSentAfterTheOutage(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *database.Database) {
		setForTest(t, &ResumeAfterOutage, 100*time.Millisecond)
		ctx, p, dir, login := roomlessScene(t, db)
		tries := 0
		dir.fail = func() error {
			tries++
			if tries <= 2 {
				return fmt.Errorf("send the notice to the management room: %w", puppets.ErrUnreachable)
			}
			return nil
		}
		setForTest(t, &MaxPendingPerPortal, 0) // every event is refused
		msg := &network.Message{
			Meta:  network.Meta{Portal: p.Key, Sender: network.Sender{User: "bob"}, Timestamp: time.Now()},
			ID:    "refused",
			Parts: []network.Part{{Content: &event.MessageEventContent{MsgType: event.MsgText, Body: "hello"}}},
		}
		if err := p.m.QueueDurable(ctx, login, msg); !errors.Is(err, ErrQueueFull) {
			t.Fatalf("QueueDurable: %v; the scene needs the event refused", err)
		}

		p.reportDropped(ctx) // the homeserver cannot be reached: held
		deadline := time.Now().Add(5 * time.Second)
		for len(dir.noticesOf(login.User)) == 0 && time.Now().Before(deadline) {
			time.Sleep(20 * time.Millisecond)
		}
		got := dir.noticesOf(login.User)
		if len(got) != 1 || !strings.Contains(got[0], "A message from Testnet") {
			t.Fatalf("alice's management room got %q after the outage, want the notice of the dropped message once", got)
		}
		dir.mu.Lock()
		n := tries
		dir.mu.Unlock()
		if n != 3 {
			t.Errorf("the notice was tried %d times, want 3: failed, failed again on the first retry, then sent", n)
		}
	})
}
