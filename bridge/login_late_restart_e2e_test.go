package bridge_test

import (
	"testing"

	"maunium.net/go/mautrix/event"

	"github.com/ferrybridge/ferry/internal/ferrytest"
	"github.com/ferrybridge/ferry/internal/testnet"
)

// TestLateLoginAnswerAfterARestartIsNotEchoed: a login asking for a
// password when Ferry stops is cancelled; the memory of its question was
// lost with the stop, and the password typed once Ferry was back was
// shown back as an unknown command and left in the room. It is deleted
// now, as a late answer is without a restart.
func TestLateLoginAnswerAfterARestartIsNotEchoed(t *testing.T) {
	h := ferrytest.Start(t, ferrytest.Options{}, testnet.New())
	alice := h.User("alice")
	mgmt := h.ManagementRoom(alice)
	h.Command(alice, mgmt, "login test carol", "password")
	before := ferrytest.Seen(alice, mgmt)
	h.StopBridge()
	h.WaitForBotNoticeExcept(alice, mgmt, "Ferry is stopping, so this login was cancelled", before)
	h.StartBridge()

	before = ferrytest.Seen(alice, mgmt)
	secret := alice.SendText(t, mgmt, "hunter2")
	h.WaitForBotNoticeExcept(alice, mgmt, "had ended", before)
	alice.WaitForEvent(t, mgmt, waitLong, func(e *event.Event) bool {
		return e.Type == event.EventRedaction && e.Redacts == secret
	})
	if said := botSaidSince(h, alice, mgmt, nil, "hunter2"); len(said) != 0 {
		t.Errorf("the bot showed the password back: %q", said)
	}
	// Only the next message: the one after it is a command again.
	h.Command(alice, mgmt, "frobnicate", "Unknown command `frobnicate`")
}
