package bridge_test

import (
	"testing"

	"maunium.net/go/mautrix/id"

	"github.com/ferrybridge/ferry/internal/ferrytest"
)

// TestEditedCommandInAPortal: in a portal, where commands start with
// `!ferry`, an edit's own body is "* !ferry …", so it was taken for a
// message to bridge: the correction of an unknown command was answered
// "never bridged", and the edit of a refused command with a password
// was left readable by everyone in the room. An edit whose new text
// starts with `!ferry` is for the bot, as the message it edits was.
//
// A command with a password corrected so is not run here, and its edit
// is deleted; its typo, which holds the same password, was left in the
// room, alice told that others could read her message "until I deleted
// it". It is deleted too now, as the typo of one run in the management
// room is.
func TestEditedCommandInAPortal(t *testing.T) {
	s := newScene(t, false)
	h, alice := s.h, s.alice
	room := s.openPortal(t, "hello")
	// correct has alice send typo, answered unknown, and edit it to
	// corrected, answered want.
	correct := func(typo, unknown, corrected, want string) (typoID, editID id.EventID) {
		t.Helper()
		before := ferrytest.Seen(alice, room)
		typoID = alice.SendText(t, room, typo)
		h.WaitForBotNoticeExcept(alice, room, "Unknown command `"+unknown+"`", before)
		before = ferrytest.Seen(alice, room)
		editID = editMessage(t, h, alice, room, typoID, corrected)
		h.WaitForBotNoticeExcept(alice, room, want, before)
		return typoID, editID
	}

	correct("!ferry verison", "verison", "!ferry version", "Ferry ")

	before := ferrytest.Seen(alice, room)
	secret := alice.SendText(t, room, "!ferry test secret hunter2")
	h.WaitForBotNoticeExcept(alice, room, "Not run here", before)
	before = ferrytest.Seen(alice, room)
	edit := editMessage(t, h, alice, room, secret, "!ferry test secret hunter3")
	waitRedacted(t, alice, room, edit)
	h.WaitForBotNoticeExcept(alice, room, "I deleted your edit", before)
	s.nothingSent(t)

	// A typo of the family's word: one of the command's own would be
	// deleted at once (TestMistypedSecretCommandInAPortalIsDeleted).
	typo, edit := correct("!ferry tset secret hunter2", "tset", "!ferry test secret hunter2", "Not run here")
	waitRedacted(t, alice, room, edit)
	waitRedacted(t, alice, room, typo)
}
