package whatsapp

import (
	"strings"
	"sync"
	"testing"
	"time"

	"go.mau.fi/whatsmeow"
	"go.mau.fi/whatsmeow/types/events"
	"maunium.net/go/mautrix/event"

	"github.com/ferrybridge/ferry/internal/ferrytest"
)

// TestE2EStoppedConnectionIsToldAtOnceAndReconnectStartsIt runs a stored
// login in the real bridge with a real Dendrite. WhatsApp gives the
// session to another program (whatsmeow then stops reconnecting): the
// user is told at once what happened and that `reconnect whatsapp` takes
// it back, not minutes later that Ferry keeps trying; and the command
// connects the login again.
func TestE2EStoppedConnectionIsToldAtOnceAndReconnectStartsIt(t *testing.T) {
	conn := New()
	var mu sync.Mutex
	var fake *fakeWA
	conn.wrap = func(cli *whatsmeow.Client) waClient {
		mu.Lock()
		defer mu.Unlock()
		fake = newFakeWA(cli)
		return fake
	}
	s := startStoredLogin(t, conn, ferrytest.Options{})
	mu.Lock()
	f := fake
	mu.Unlock()
	waitConnect(t, f)
	dispatch := s.cl.cli.DangerousInternals().DispatchEvent
	dispatch(&events.Connected{})
	dispatch(&events.StreamReplaced{})

	s.alice.WaitForEvent(t, s.mgmt, 30*time.Second, func(evt *event.Event) bool {
		msg := evt.Content.AsMessage()
		return msg != nil && strings.Contains(msg.Body, "needs your attention") &&
			strings.Contains(msg.Body, "another program took over") && strings.Contains(msg.Body, "`reconnect whatsapp`")
	})
	s.h.Command(s.alice, s.mgmt, "reconnect whatsapp", "Reconnecting WhatsApp")
	waitConnect(t, f)
}
