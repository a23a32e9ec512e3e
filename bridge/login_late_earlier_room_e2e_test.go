package bridge_test

import (
	"testing"
)

// TestLateLoginAnswerInAnEarlierRoomIsDeleted: a login asks for a
// password in alice's first management room; a newer direct chat with
// the bot takes its place, and she cancels the login there. A password
// she types afterwards where she was asked was left in that room,
// unanswered (it is no management room any more), while the same typed
// in the management room is deleted (TestLateLoginAnswerIsNotEchoed). It
// is deleted now as well, and answered there without being shown back;
// a command after it still needs the prefix there.
func TestLateLoginAnswerInAnEarlierRoomIsDeleted(t *testing.T) {
	h, alice, first, before, _ := lateAnswerInEarlierRoom(t, "hunter2")
	if said := botSaidSince(h, alice, first, before, "`login test"); len(said) == 0 {
		t.Errorf("the answer to a late password does not say how to start again")
	}
	if said := botSaidSince(h, alice, first, nil, "hunter2"); len(said) != 0 {
		t.Errorf("the bot showed the password back: %q", said)
	}
	h.Command(alice, first, "!ferry version", "Ferry ")
}
