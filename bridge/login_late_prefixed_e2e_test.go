package bridge_test

import (
	"testing"

	"maunium.net/go/mautrix/event"

	"github.com/ferrybridge/ferry/internal/ferrytest"
	"github.com/ferrybridge/ferry/internal/testnet"
)

// TestPrefixedLateAnswerInAnEarlierRoomIsDeleted: as in
// TestLateLoginAnswerInAnEarlierRoomIsDeleted, a login asked for a
// password in alice's earlier management room and was cancelled; she
// then types the password there with the prefix, as commands need it in
// that room now ("!ferry hunter2"). That went the way of prefixed
// commands and was answered "Unknown command `hunter2`", the password
// shown back and left in the room. It is the late answer now, as without
// the prefix: deleted, and answered without being shown back.
func TestPrefixedLateAnswerInAnEarlierRoomIsDeleted(t *testing.T) {
	h := ferrytest.Start(t, ferrytest.Options{}, testnet.New())
	alice := h.User("alice")
	first := h.ManagementRoom(alice)
	h.Command(alice, first, "login test carol", "password")
	second := h.ManagementRoom(alice)
	h.WaitForBotNotice(alice, first, "not your management room any more")
	alice.SendText(t, second, "cancel")
	h.WaitForBotNotice(alice, first, "Login cancelled")

	before := ferrytest.Seen(alice, first)
	evt := alice.SendText(t, first, "!ferry hunter2")
	h.WaitForBotNoticeExcept(alice, first, "had ended", before)
	alice.WaitForEvent(t, first, waitLong, func(e *event.Event) bool {
		return e.Type == event.EventRedaction && e.Redacts == evt
	})
	if said := botSaidSince(h, alice, first, nil, "hunter2"); len(said) != 0 {
		t.Errorf("the bot showed the password back: %q", said)
	}
	h.Command(alice, first, "!ferry version", "Ferry ")
}
