package bridge_test

import (
	"fmt"
	"net/http"
	"testing"

	"maunium.net/go/mautrix/id"

	"github.com/ferrybridge/ferry/internal/ferrytest"
	"github.com/ferrybridge/ferry/internal/testbed"
)

// An edit of a message the bot deleted for its secret (a login's
// password, its late answer) holds the corrected secret. In the
// management room, and with the prefix anywhere, it was deleted; but in
// a room the bot reads without the prefix only while a login asks there
// (an earlier management room), and in a portal, an edit without the
// prefix was not the bot's: it stayed, the new password readable in the
// room and stored in the database.

// editIsDeleted has alice edit answer, deleted for its secret, to
// "hunter3" in room, and waits for the edit to be deleted too and for
// the bot to say so, without the password, and for its stored body to
// go. It returns what alice had seen in room before the edit.
func editIsDeleted(t *testing.T, h *ferrytest.Harness, alice *testbed.Client, room id.RoomID, answer id.EventID) (before map[id.EventID]bool) {
	t.Helper()
	before = ferrytest.Seen(alice, room)
	edit := editMessage(t, h, alice, room, answer, "hunter3")
	waitRedacted(t, alice, room, edit)
	h.WaitForBotNoticeExcept(alice, room, "I deleted your edit", before)
	waitHandledWithout(t, h, edit, "hunter3")
	if echo := botSaidSince(h, alice, room, before, "hunter3"); len(echo) > 0 {
		t.Errorf("the edited password was shown back: %q", echo)
	}
	return before
}

// TestEditOfALateAnswerInAnEarlierRoomIsDeleted: the late answer typed
// in the earlier management room is deleted (login_late.go); so is its
// edit now.
func TestEditOfALateAnswerInAnEarlierRoomIsDeleted(t *testing.T) {
	h, alice, first, _, late := lateAnswerInEarlierRoom(t, "hunter2")
	editIsDeleted(t, h, alice, first, late)
}

// TestEditOfAnAnswerInAnEarlierRoomIsDeleted: the password typed in the
// earlier management room where the login asked, taken and deleted;
// once the login is over, the bot no longer reads that room without the
// prefix, but the edit of the password is deleted all the same.
func TestEditOfAnAnswerInAnEarlierRoomIsDeleted(t *testing.T) {
	h, alice, first, _ := earlierRoomLogin(t)
	answer := alice.SendText(t, first, "hunter2")
	h.WaitForBotNotice(alice, first, "Logged in to Testnet as carol")
	waitRedacted(t, alice, first, answer)
	editIsDeleted(t, h, alice, first, answer)
}

// TestEditOfAnAnswerInAPortalIsDeleted: "!ferry hunter2" typed in a
// portal while a login asks for a password is deleted
// (TestPrefixedLoginAnswerInAPortalIsDeleted); its edit without the
// prefix went to the chat's network as an edit ("never bridged") and
// stayed in the room. It is deleted now, and nothing reaches the network.
//
// After a restart of Ferry too: the bot's memory of the secrets it
// deleted was lost, and the edit went to the chat again, readable in the
// room and its body stored.
func TestEditOfAnAnswerInAPortalIsDeleted(t *testing.T) {
	for _, restart := range []bool{false, true} {
		t.Run(fmt.Sprintf("restart=%v", restart), func(t *testing.T) {
			s, room, before, stray := strayPasswordInPortal(t)
			if restart {
				// Stopped once the password's body is gone from the
				// store: a stop while it is handled replays it.
				waitHandledWithout(t, s.h, stray, "hunter2")
				s.h.StopBridge()
				s.h.StartBridge()
			}
			editIsDeleted(t, s.h, s.alice, room, stray)
			if said := botSaidSince(s.h, s.alice, room, before, "never bridged"); len(said) > 0 {
				t.Errorf("the edit was bridged: %q", said)
			}
			s.nothingSent(t)
		})
	}
}

// TestEditOfAnUndeletedAnswerIsDeleted: the bot could not delete the
// password alice answered (it asked her to); her edit of it, holding the
// corrected password, was answered "send the corrected command as a new
// message", as an edit of a command: not deleted, left in the database,
// and the corrected password, sent as told once the login was over, would
// have been an unknown command shown back. It is deleted now, and the
// answer speaks of the login's answer.
//
// After a restart of Ferry too, when the bot no longer knew the message
// held a secret, and the homeserver, which never deleted it, could not
// tell it either.
func TestEditOfAnUndeletedAnswerIsDeleted(t *testing.T) {
	for _, restart := range []bool{false, true} {
		t.Run(fmt.Sprintf("restart=%v", restart), func(t *testing.T) {
			s := newScene(t, true)
			h, alice, mgmt := s.h, s.alice, s.mgmt
			h.Command(alice, mgmt, "login test carol", "password")
			s.proxy.FailNext("PUT /_matrix/client/v3/rooms/"+mgmt.String()+"/redact/", 1, http.StatusForbidden)
			answer := alice.SendText(t, mgmt, "hunter2")
			h.WaitForBotNotice(alice, mgmt, "I could not delete your message with the secret")
			h.WaitForBotNotice(alice, mgmt, "Logged in to Testnet as carol")
			if restart {
				waitHandledWithout(t, h, answer, "hunter2")
				h.StopBridge()
				h.StartBridge()
			}
			before := editIsDeleted(t, h, alice, mgmt, answer)
			if said := botSaidSince(h, alice, mgmt, before, "to answer anew, start the login again"); len(said) == 0 {
				t.Errorf("the answer to the edit does not say how to answer anew")
			}
			if said := botSaidSince(h, alice, mgmt, before, "send the corrected command"); len(said) > 0 {
				t.Errorf("the edit of a login's answer was answered as one of a command: %q", said)
			}
		})
	}
}
