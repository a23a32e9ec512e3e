package whatsapp

import (
	"context"
	"strings"
	"testing"
	"time"

	"go.mau.fi/whatsmeow/store"
	"maunium.net/go/mautrix/event"
	"maunium.net/go/mautrix/id"

	"github.com/ferrybridge/ferry/internal/ferrytest"
	"github.com/ferrybridge/ferry/internal/testbed"
)

// joinPortal waits for user's invite to a portal room (neither the
// management room nor the login's space) and joins it.
func joinPortal(t *testing.T, user *testbed.Client, mgmt id.RoomID) id.RoomID {
	t.Helper()
	room := user.WaitForInvite(t, 60*time.Second, func(room id.RoomID, state []*event.Event) bool {
		for _, evt := range state {
			if t, _ := evt.Content.Raw["type"].(string); evt.Type == event.StateCreate && t == string(event.RoomTypeSpace) {
				return false
			}
		}
		return room != mgmt
	})
	user.Join(t, room.String())
	return room
}

// ghostOf is the Matrix ID of a WhatsApp user's ghost in the test bed.
func ghostOf(digits string) id.UserID { return id.UserID("@whatsapp_" + digits + ":localhost") }

// saysText matches a message event from sender with the body text.
func saysText(sender id.UserID, body string) func(*event.Event) bool {
	return func(evt *event.Event) bool {
		msg := evt.Content.AsMessage()
		return evt.Sender == sender && evt.Type == event.EventMessage && msg != nil && msg.Body == body
	}
}

// storedLogin is Ferry with Dendrite, restarted over a WhatsApp login
// stored as a completed QR login leaves it, with the login running.
type storedLogin struct {
	h      *ferrytest.Harness
	alice  *testbed.Client
	mgmt   id.RoomID
	cl     *Client
	device *store.Device
}

// startStoredLogin starts conn in Ferry with opts and gives Alice a
// stored WhatsApp login (no WhatsApp server needed: the tests hand the
// login's client what it would receive).
func startStoredLogin(t *testing.T, conn *Connector, opts ferrytest.Options) *storedLogin {
	t.Helper()
	s := &storedLogin{h: ferrytest.Start(t, opts, conn)}
	s.alice = s.h.User("alice")
	s.mgmt = s.h.ManagementRoom(s.alice)
	s.h.StopBridge()
	s.device = storeE2ELogin(t, s.h, s.alice.UserID)
	s.h.StartBridge()
	s.cl = waitForLogin(t, conn)
	return s
}

// waitBridged waits until Ferry has stored the mapping of evt, which it
// does once the homeserver has answered the send. An event shows in /sync
// before that answer reaches Ferry: a homeserver outage begun in between
// loses the answer, and the retry may make a second event if the
// homeserver does not recognise its transaction ID (Dendrite 0.13.8 may
// not). Tests of outages start theirs after this.
func waitBridged(t *testing.T, h *ferrytest.Harness, evt *event.Event) {
	t.Helper()
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		if m, err := h.Bridge.DB.Messages.GetByEventID(context.Background(), evt.ID); err == nil && m != nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("Ferry did not record %s as bridged", evt.ID)
		}
	}
}

// loginCommand sends a login command to the bot in room and returns its
// answer containing want. A login flow says how it ended a moment before
// it has ended, and a login command in that moment is refused as one
// already running; it is then sent again.
func loginCommand(t *testing.T, h *ferrytest.Harness, user *testbed.Client, room id.RoomID, command, want string) *event.Event {
	t.Helper()
	for attempt := 1; ; attempt++ {
		before := ferrytest.Seen(user, room)
		user.SendText(t, room, command)
		answer := user.WaitForEvent(t, room, 30*time.Second, func(evt *event.Event) bool {
			msg := evt.Content.AsMessage()
			return !before[evt.ID] && evt.Sender == h.BotMXID && msg != nil &&
				(strings.Contains(msg.Body, want) || strings.Contains(msg.Body, "a login is already running"))
		})
		switch {
		case strings.Contains(answer.Content.AsMessage().Body, want):
			return answer
		case attempt == 10:
			t.Fatalf("the earlier login flow never ended: %q", answer.Content.AsMessage().Body)
		}
		time.Sleep(200 * time.Millisecond)
	}
}
