package bridge_test

import (
	"strings"
	"testing"
	"time"

	"github.com/ferrybridge/ferry/internal/ferrytest"
)

// TestMistypedSecretCommandInAPortalIsDeleted: in a portal, a command
// with a password whose command word is mistyped (`!ferry test secrte
// hunter2`, as `!ferry irc passwrd libera hunter2`) names no command, and
// was answered "Unknown command", left in the room for everyone to read
// with the password in it. It is deleted as the command spelt right would
// have been, the answer names that command and does not show the line
// back; a typo far from any command with a secret is answered as before,
// and left.
func TestMistypedSecretCommandInAPortalIsDeleted(t *testing.T) {
	s := newScene(t, false)
	h, alice := s.h, s.alice
	room := s.openPortal(t, "hello")
	for _, typed := range []string{"!ferry test secrte hunter2", "!ferry TEST scret x"} {
		before := ferrytest.Seen(alice, room)
		typo := alice.SendText(t, room, typed)
		h.WaitForBotNoticeExcept(alice, room, "looks like a mistyped `!ferry test secret`", before)
		waitRedacted(t, alice, room, typo)
		for _, body := range botSaidSince(h, alice, room, before, "mistyped") {
			if strings.Contains(body, "hunter2") || strings.Contains(body, "secrte") || strings.Contains(body, "scret") {
				t.Errorf("the answer to %q shows it back: %q", typed, body)
			}
			if !strings.Contains(body, "until I deleted it") {
				t.Errorf("the answer to %q does not say it was deleted: %q", typed, body)
			}
		}
	}
	before := ferrytest.Seen(alice, room)
	alice.SendText(t, room, "!ferry test pnig alice")
	h.WaitForBotNoticeExcept(alice, room, "Unknown command `test pnig`", before)
	s.nothingSent(t)
}

// TestMistypedSecretCommandInTheManagementRoomIsNotStored: in the
// management room, where no one else reads it and an edit may correct
// it, the typo of a command with a password is answered as unknown and
// left; but its stored body, which holds the password, is emptied once it
// is handled, as the command's spelt right is.
func TestMistypedSecretCommandInTheManagementRoomIsNotStored(t *testing.T) {
	s := newScene(t, false)
	since := time.Now().Add(-time.Minute)
	before := ferrytest.Seen(s.alice, s.mgmt)
	typo := s.alice.SendText(t, s.mgmt, "test secrte hunter2")
	s.h.WaitForBotNoticeExcept(s.alice, s.mgmt, "Unknown command `test secrte`", before)
	deadline := time.Now().Add(waitLong)
	for {
		scrubbed, err := s.h.Bridge.DB.MatrixEvents.ScrubbedSince(s.h.Context(waitLong), since)
		if err != nil {
			t.Fatal(err)
		}
		if _, ok := scrubbed[typo]; ok {
			return
		}
		if time.Now().After(deadline) {
			t.Fatal("the typo's stored body, with the password, was never emptied")
		}
		time.Sleep(50 * time.Millisecond)
	}
}
