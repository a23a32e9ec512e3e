package bridge_test

import (
	"strings"
	"testing"

	"maunium.net/go/mautrix/id"

	"github.com/ferrybridge/ferry/internal/ferrytest"
	"github.com/ferrybridge/ferry/internal/testbed"
	"github.com/ferrybridge/ferry/internal/testnet"
)

// A login's answer typed with the prefix ("!ferry hunter2") is the same
// answer in every room the login may ask in. Before, in an earlier
// management room where a login asked on (login_rooms.go), it went the
// way of prefixed commands: "Unknown command `hunter2`", the password
// shown back and left in the room; in the management room the whole
// text, prefix and all, was taken for the password.

// answerWithPrefix has alice, asked for a password in room, run a
// command there with the prefix (it runs, the question stays), then type
// testnet's wrong password with the prefix: the login is to take it
// without the prefix (and so refuse it), delete it and not show it back.
func answerWithPrefix(t *testing.T, h *ferrytest.Harness, alice *testbed.Client, room id.RoomID) {
	t.Helper()
	h.Command(alice, room, "!ferry version", "Ferry ")
	before := ferrytest.Seen(alice, room)
	answer := alice.SendText(t, room, "!ferry "+testnet.WrongPassword)
	h.WaitForBotNoticeExcept(alice, room, "wrong password", before)
	waitRedacted(t, alice, room, answer)
	if said := botSaidSince(h, alice, room, before, "Unknown command"); len(said) != 0 {
		t.Errorf("the answer was taken for a command: %q", said)
	}
}

// TestPrefixedLoginAnswerInTheManagementRoom: in the management room.
func TestPrefixedLoginAnswerInTheManagementRoom(t *testing.T) {
	h := ferrytest.Start(t, ferrytest.Options{}, testnet.New())
	alice := h.User("alice")
	mgmt := h.ManagementRoom(alice)
	h.Command(alice, mgmt, "login test carol", "password")
	answerWithPrefix(t, h, alice, mgmt)
}

// TestPrefixedLoginAnswerInAnEarlierManagementRoom: in the room the
// login started in, a newer management room since.
func TestPrefixedLoginAnswerInAnEarlierManagementRoom(t *testing.T) {
	h, alice, first, _ := earlierRoomLogin(t)
	answerWithPrefix(t, h, alice, first)
}

// strayPasswordInPortal has alice, asked for a password in her
// management room, type "!ferry hunter2" in a portal instead, and waits
// for the bot to tell her where the login waits and to delete it. It
// returns what alice had seen in the portal before, and her message.
func strayPasswordInPortal(t *testing.T) (s *scene, room id.RoomID, before map[id.EventID]bool, stray id.EventID) {
	t.Helper()
	s = newScene(t, false)
	room = s.openPortal(t, "hi")
	s.h.Command(s.alice, s.mgmt, "login test carol", "password")
	before = ferrytest.Seen(s.alice, room)
	stray = s.alice.SendText(t, room, "!ferry hunter2")
	s.h.WaitForBotNoticeExcept(s.alice, room, "waiting for your answer", before)
	waitRedacted(t, s.alice, room, stray)
	return s, room, before, stray
}

// TestPrefixedLoginAnswerInAPortalIsDeleted: typed with the prefix in a
// portal, while a login asks for a password in the management room, it
// was "Unknown command `hunter2`", the password shown back in the chat
// and left there. It is deleted now, and alice told where the login
// waits, as in the management room.
func TestPrefixedLoginAnswerInAPortalIsDeleted(t *testing.T) {
	s, room, before, _ := strayPasswordInPortal(t)
	if said := botSaidSince(s.h, s.alice, room, before, "hunter2"); len(said) != 0 {
		t.Errorf("the bot showed the password back: %q", said)
	}
}

// TestPrefixedAnswerInAPortalToAQuestionForNoSecret: as in
// TestPrefixedLoginAnswerInAPortalIsDeleted, but the login asks for a
// server, no secret: "!ferry irc.example.org" in the portal was answered
// "Unknown command `irc.example.org`", while the same answer to a
// password question, and in any other room, is taken for what it is.
// alice is told where the login waits, as then; the answer is no secret,
// and stays. In the portal, where a bare `cancel` would go to the chat,
// she is told to send `!ferry cancel`.
func TestPrefixedAnswerInAPortalToAQuestionForNoSecret(t *testing.T) {
	s := newScene(t, false)
	room := s.openPortal(t, "hi")
	s.tn.AskServer.Store(true)
	s.h.Command(s.alice, s.mgmt, "login test carol", "Please send your server")
	before := ferrytest.Seen(s.alice, room)
	s.alice.SendText(t, room, "!ferry irc.example.org")
	s.h.WaitForBotNoticeExcept(s.alice, room, "waiting for your answer", before)
	if said := botSaidSince(s.h, s.alice, room, before, "`!ferry cancel`"); len(said) == 0 {
		t.Errorf("the answer does not say how to cancel in this room")
	}
	if said := botSaidSince(s.h, s.alice, room, before, "Unknown command"); len(said) != 0 {
		t.Errorf("the answer was taken for a command: %q", said)
	}
	// The question still waits where it was asked.
	s.h.Command(s.alice, s.mgmt, "irc.example.org", "Please send your password")
}

// TestAnswerStartingWithThePrefix: a password that itself starts with
// "!ferry " is typed after the prefix ("!ferry !ferry wrong" is the
// password "!ferry wrong", not testnet's refused "wrong"), as the
// question says.
func TestAnswerStartingWithThePrefix(t *testing.T) {
	h, alice, mgmt, question := askedForPassword(t)
	if !strings.Contains(question, "before an answer that starts with `!ferry` itself") {
		t.Errorf("the question does not say how to answer with the prefix: %q", question)
	}
	before := ferrytest.Seen(alice, mgmt)
	answer := alice.SendText(t, mgmt, "!ferry !ferry "+testnet.WrongPassword)
	h.WaitForBotNoticeExcept(alice, mgmt, "Logged in to Testnet as carol", before)
	waitRedacted(t, alice, mgmt, answer)
}

// TestAnswerThatIsCancel: `cancel` stops a login, typed with the prefix
// or without, so a password "cancel" could not be given at all. After
// "!ferry answer" the rest is the answer as it is ("!ferry answer wrong"
// is testnet's refused "wrong", not "answer wrong"), not told as one that
// reads like a command; the question says so.
func TestAnswerThatIsCancel(t *testing.T) {
	h, alice, mgmt, question := askedForPassword(t)
	if !strings.Contains(question, "to answer `cancel`, send `!ferry answer cancel`") {
		t.Errorf("the question does not say how to answer `cancel`: %q", question)
	}
	h.Command(alice, mgmt, "!ferry answer "+testnet.WrongPassword, "wrong password")

	h.Command(alice, mgmt, "login test carol", "password")
	before := ferrytest.Seen(alice, mgmt)
	answer := alice.SendText(t, mgmt, "!ferry answer cancel")
	h.WaitForBotNoticeExcept(alice, mgmt, "Logged in to Testnet as carol", before)
	waitRedacted(t, alice, mgmt, answer)
	if said := botSaidSince(h, alice, mgmt, before, "reads like a command"); len(said) > 0 {
		t.Errorf("the answer given as it is was told as a command: %q", said)
	}
}
