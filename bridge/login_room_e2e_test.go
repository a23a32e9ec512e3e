package bridge_test

import (
	"bytes"
	"strings"
	"sync"
	"testing"
	"time"

	"maunium.net/go/mautrix"
	"maunium.net/go/mautrix/id"

	"github.com/ferrybridge/ferry/bridge/network"
	"github.com/ferrybridge/ferry/internal/ferrytest"
	"github.com/ferrybridge/ferry/internal/testnet"
)

// TestLoginOnlyInTheManagementRoom: a login shows codes that link an
// account and asks for passwords, so it runs only in the management room,
// which no one else reads. Started in a portal, the password it asked for
// was bridged to the remote chat; in a group room, everyone could read the
// codes.
func TestLoginOnlyInTheManagementRoom(t *testing.T) {
	s := newScene(t, false)
	portalRoom := s.openPortal(t, "hello")
	group, err := s.alice.CreateRoom(s.h.Context(time.Minute), &mautrix.ReqCreateRoom{
		Preset: "private_chat", Invite: []id.UserID{s.h.BotMXID, s.h.User("dave").UserID},
	})
	if err != nil {
		t.Fatal(err)
	}
	s.h.WaitForBotNotice(s.alice, group.RoomID, "not your management room")
	for _, room := range []id.RoomID{portalRoom, group.RoomID} {
		s.h.Command(s.alice, room, "!ferry login test carol", "log in from your management room")
	}

	// No login was started: one starts in the management room at once
	// (a running one would refuse it), and the portal's next message is
	// an ordinary one.
	s.alice.SendText(t, portalRoom, "just a message")
	if got := expectOut[*network.OutgoingMessage](t, s.cl).Content.Body; got != "just a message" {
		t.Fatalf("the network got %q, want the message", got)
	}
	loginTest(t, s.h, s.tn, s.alice, s.mgmt, "carol")
}

// TestLoginPasswordIsNotKeptInTheStore: the message with a password the
// login asked for is redacted in the room, and its body goes from Ferry's
// store of Matrix events once it is handled; the row stays, so that a
// redelivery is still recognised.
func TestLoginPasswordIsNotKeptInTheStore(t *testing.T) {
	s := newScene(t, false)
	s.h.Command(s.alice, s.mgmt, "login test carol", "password")
	secret := s.alice.SendText(t, s.mgmt, "hunter2-carol")
	s.h.WaitForBotNotice(s.alice, s.mgmt, "Logged in to Testnet as carol")
	waitHandledWithout(t, s.h, secret, "hunter2")
}

// waitHandledWithout waits until evt is stored and handled, and fails t
// if its stored body then still holds secret.
func waitHandledWithout(t *testing.T, h *ferrytest.Harness, evt id.EventID, secret string) {
	t.Helper()
	ctx := h.Context(waitLong)
	for deadline := time.Now().Add(waitLong); ; time.Sleep(20 * time.Millisecond) {
		var data string
		var handled bool
		err := h.Bridge.DB.QueryRow(ctx, `SELECT data, handled_at IS NOT NULL FROM matrix_event WHERE event_id = $1`, evt).Scan(&data, &handled)
		if err == nil && handled {
			if strings.Contains(data, secret) {
				t.Fatalf("the handled event still holds the secret: %s", data)
			}
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("the secret's event was never stored and handled (%v)", err)
		}
	}
}

// lockedBuffer is a log sink that goroutines write while the test reads.
type lockedBuffer struct {
	lock sync.Mutex
	buf  bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.lock.Lock()
	defer b.lock.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.lock.Lock()
	defer b.lock.Unlock()
	return b.buf.String()
}

// TestTraceLogHasNoMessageText: the trace log of received events, the one
// an administrator turns on to debug, keeps what people wrote out of the
// log file: the answer to a login's password question is an ordinary
// message when it arrives.
func TestTraceLogHasNoMessageText(t *testing.T) {
	trace := &lockedBuffer{}
	tn := testnet.New()
	h := ferrytest.Start(t, ferrytest.Options{TraceLog: trace}, tn)
	alice := h.User("alice")
	mgmt := h.ManagementRoom(alice)
	h.Command(alice, mgmt, "login test carol", "password")
	secret := alice.SendText(t, mgmt, "hunter2-in-the-trace")
	h.WaitForBotNotice(alice, mgmt, "Logged in to Testnet as carol")

	log := trace.String()
	if !strings.Contains(log, secret.String()) {
		t.Fatalf("the trace log does not show the event %s at all; it is no test of its text", secret)
	}
	if strings.Contains(log, "hunter2-in-the-trace") {
		t.Error("the trace log holds the password typed for the login")
	}
}
