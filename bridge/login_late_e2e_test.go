package bridge_test

import (
	"testing"
	"time"

	"maunium.net/go/mautrix/event"

	"github.com/ferrybridge/ferry/bridge"
	"github.com/ferrybridge/ferry/internal/ferrytest"
	"github.com/ferrybridge/ferry/internal/testnet"
)

// TestLateLoginAnswerIsNotEchoed: a password typed after the login that
// asked for it ended (timed out, cancelled) was answered "Unknown command
// `hunter2`": shown back, and left readable in the room. It is deleted
// now, and the answer says the question had ended and how to start
// again, without the password; the message after it is a command again.
func TestLateLoginAnswerIsNotEchoed(t *testing.T) {
	timeout := bridge.LoginFlowTimeout
	t.Cleanup(func() { bridge.LoginFlowTimeout = timeout })
	bridge.LoginFlowTimeout = 3 * time.Second
	h := ferrytest.Start(t, ferrytest.Options{}, testnet.New())
	alice := h.User("alice")
	mgmt := h.ManagementRoom(alice)
	late := func(secret string) {
		t.Helper()
		before := ferrytest.Seen(alice, mgmt)
		evt := alice.SendText(t, mgmt, secret)
		h.WaitForBotNoticeExcept(alice, mgmt, "had ended", before)
		alice.WaitForEvent(t, mgmt, waitLong, func(e *event.Event) bool {
			return e.Type == event.EventRedaction && e.Redacts == evt
		})
		if said := botSaidSince(h, alice, mgmt, before, "`login test"); len(said) == 0 {
			t.Errorf("the answer to a late password does not say how to start again")
		}
		if said := botSaidSince(h, alice, mgmt, nil, secret); len(said) != 0 {
			t.Errorf("the bot showed the password back: %q", said)
		}
	}

	h.Command(alice, mgmt, "login test carol", "password")
	h.WaitForBotNotice(alice, mgmt, "Login timed out")
	late("hunter2")
	// Only the next message: later ones are commands as before.
	h.Command(alice, mgmt, "frobnicate", "Unknown command `frobnicate`")

	h.Command(alice, mgmt, "login test carol", "password")
	h.Command(alice, mgmt, "cancel", "Login cancelled")
	late("hunter3")
	h.Command(alice, mgmt, "version", "Ferry ")
}
