package bridge_test

import (
	"strings"
	"testing"

	"maunium.net/go/mautrix/id"

	"github.com/ferrybridge/ferry/internal/ferrytest"
	"github.com/ferrybridge/ferry/internal/testbed"
	"github.com/ferrybridge/ferry/internal/testnet"
)

// askedForPassword starts Ferry with testnet, has alice send `login
// test carol` in her management room, and returns the question for the
// password.
func askedForPassword(t *testing.T) (h *ferrytest.Harness, alice *testbed.Client, mgmt id.RoomID, question string) {
	t.Helper()
	h = ferrytest.Start(t, ferrytest.Options{}, testnet.New())
	alice = h.User("alice")
	mgmt = h.ManagementRoom(alice)
	question = h.Command(alice, mgmt, "login test carol", "Please send your password").Content.AsMessage().Body
	return h, alice, mgmt, question
}

// TestCommandTypedAsALoginAnswerIsToldOf: while a login asked for carol's
// password, alice typed `logout test carol` to stop it; it was taken as
// the password, and the only answer was "Logged in to Testnet as carol",
// the opposite of what she meant, without a word why. It is still the
// answer (a password may be "status"), but the question says so before,
// and she is told, before the login's outcome, that her message was
// taken as the password and how to run a command instead. The notice
// does not name the command: it may be the start of a password.
func TestCommandTypedAsALoginAnswerIsToldOf(t *testing.T) {
	h, alice, mgmt, question := askedForPassword(t)
	if !strings.Contains(question, "put `!ferry` before a command") {
		t.Errorf("the question does not say that commands need the prefix meanwhile: %q", question)
	}
	before := ferrytest.Seen(alice, mgmt)
	alice.SendText(t, mgmt, "logout test carol")
	h.WaitForBotNoticeExcept(alice, mgmt, "Logged in to Testnet as carol", before)
	var told, loggedIn int
	for i, body := range botSaidSince(h, alice, mgmt, before, "") {
		switch {
		case strings.Contains(body, "reads like a command") && strings.Contains(body, "took it as that"):
			told = i + 1
		case strings.Contains(body, "Logged in"):
			loggedIn = i + 1
		}
		if strings.Contains(body, "logout") {
			t.Errorf("the bot named what alice typed: %q", body)
		}
	}
	if told == 0 || told > loggedIn {
		t.Errorf("alice was not told, before the login's outcome, that her command was taken as the password: %q", botSaidSince(h, alice, mgmt, before, ""))
	}
}
