package bridge_test

import (
	"strings"
	"testing"

	"github.com/ferrybridge/ferry/internal/ferrytest"
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

// TestEditWithoutNewContentIsNoLateAnswerInAnEarlierRoom: an edit that
// lacks its new content (a client's mistake) is an edit, and answers no
// login question (TestEditWithoutNewContentIsNoAnswer); but in an
// earlier management room it was taken for the late answer to the
// question that ended there: deleted, and the password alice typed next
// was left in the room, unread, as the one message that may be the late
// answer had gone.
func TestEditWithoutNewContentIsNoLateAnswerInAnEarlierRoom(t *testing.T) {
	h, alice, first, cancelled := cancelledInEarlierRoom(t)
	editWithoutNewContent(t, h, alice, first, cancelled.ID, "Login cancelled!")
	late := alice.SendText(t, first, "hunter2")
	waitRedacted(t, alice, first, late)
}

// TestLoginEndedInAnEarlierRoomSaysWhereToStartAgain: a login asking in
// alice's earlier management room is cancelled by Ferry's stop, and her
// password typed there once Ferry is back is deleted. Both answers said
// "Send `login test`": a command without the prefix is not read there,
// and a login is refused outside the management room. They name the
// management room now.
func TestLoginEndedInAnEarlierRoomSaysWhereToStartAgain(t *testing.T) {
	h, alice, first, second := earlierRoomLogin(t)
	// The link to it reads as its address in the plain body.
	where := "`login test` in your management room, https://matrix.to/#/" + second.String()
	before := ferrytest.Seen(alice, first)
	h.StopBridge()
	stopped := h.WaitForBotNoticeExcept(alice, first, "Ferry is stopping", before)
	if body := stopped.Content.AsMessage().Body; !strings.Contains(body, where) {
		t.Errorf("the notice of the stop says %q; want it to say to send %s", body, where)
	}
	h.StartBridge()

	before = ferrytest.Seen(alice, first)
	waitRedacted(t, alice, first, alice.SendText(t, first, "hunter2"))
	late := h.WaitForBotNoticeExcept(alice, first, "had ended", before)
	if body := late.Content.AsMessage().Body; !strings.Contains(body, where) {
		t.Errorf("the answer to the late password says %q; want it to say to send %s", body, where)
	}
}
