package bridge_test

import (
	"strings"
	"testing"

	"github.com/ferrybridge/ferry/internal/ferrytest"
)

// TestLoginQuestionOutlivesItsManagementRoom: a login asks for a
// password in alice's management room; before she answers, a newer
// direct chat with the bot becomes her management room. Her answer in
// the room where she was asked still reaches the login (it was ignored
// there: the room's messages without the prefix went nowhere, the
// password left in it). An answer typed in the new room is not shown
// back as an unknown command: it is deleted, and she is told where the
// question waits.
func TestLoginQuestionOutlivesItsManagementRoom(t *testing.T) {
	h, alice, first, second := earlierRoomLogin(t)

	before := ferrytest.Seen(alice, second)
	stray := alice.SendText(t, second, "hunter1")
	where := h.WaitForBotNoticeExcept(alice, second, "waiting", before).Content.AsMessage().Body
	if !strings.Contains(where, first.String()) {
		t.Errorf("the new management room was told %q; want the room the question waits in", where)
	}
	waitRedacted(t, alice, second, stray)
	if said := botSaidSince(h, alice, second, nil, "hunter1"); len(said) != 0 {
		t.Errorf("the bot showed the password back: %q", said)
	}

	answer := alice.SendText(t, first, "hunter2")
	h.WaitForBotNotice(alice, first, "Logged in to Testnet as carol")
	waitRedacted(t, alice, first, answer)
}
