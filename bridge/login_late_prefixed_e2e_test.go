package bridge_test

import (
	"testing"
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
	h, alice, first, _, _ := lateAnswerInEarlierRoom(t, "!ferry hunter2")
	if said := botSaidSince(h, alice, first, nil, "hunter2"); len(said) != 0 {
		t.Errorf("the bot showed the password back: %q", said)
	}
	h.Command(alice, first, "!ferry version", "Ferry ")
}
