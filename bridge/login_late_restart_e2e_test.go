package bridge_test

import (
	"testing"

	"maunium.net/go/mautrix/event"

	"github.com/ferrybridge/ferry/internal/ferrytest"
)

// TestLateLoginAnswerAfterARestartIsNotEchoed: a login asking for a
// password when Ferry stops is cancelled; the memory of its question was
// lost with the stop, and the password typed once Ferry was back was
// shown back as an unknown command and left in the room. It is deleted
// now, as a late answer is without a restart.
func TestLateLoginAnswerAfterARestartIsNotEchoed(t *testing.T) {
	h, alice, mgmt := loginCancelledByStop(t)
	h.StartBridge()

	before := ferrytest.Seen(alice, mgmt)
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
