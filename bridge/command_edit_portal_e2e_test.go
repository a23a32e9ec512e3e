package bridge_test

import (
	"testing"

	"maunium.net/go/mautrix/event"

	"github.com/ferrybridge/ferry/internal/ferrytest"
)

// TestEditedCommandInAPortal: in a portal, where commands start with
// `!ferry`, an edit's own body is "* !ferry …", so it was taken for a
// message to bridge: the correction of an unknown command was answered
// "never bridged", and the edit of a refused command with a password
// was left readable by everyone in the room. An edit whose new text
// starts with `!ferry` is for the bot, as the message it edits was.
func TestEditedCommandInAPortal(t *testing.T) {
	s := newScene(t, false)
	h, alice := s.h, s.alice
	room := s.openPortal(t, "hello")

	before := ferrytest.Seen(alice, room)
	typo := alice.SendText(t, room, "!ferry verison")
	h.WaitForBotNoticeExcept(alice, room, "Unknown command `verison`", before)
	before = ferrytest.Seen(alice, room)
	editMessage(t, h, alice, room, typo, "!ferry version")
	h.WaitForBotNoticeExcept(alice, room, "Ferry ", before)

	before = ferrytest.Seen(alice, room)
	secret := alice.SendText(t, room, "!ferry test secret hunter2")
	h.WaitForBotNoticeExcept(alice, room, "Not run here", before)
	before = ferrytest.Seen(alice, room)
	edit := editMessage(t, h, alice, room, secret, "!ferry test secret hunter3")
	alice.WaitForEvent(t, room, waitLong, func(evt *event.Event) bool {
		return evt.Type == event.EventRedaction && evt.Redacts == edit
	})
	h.WaitForBotNoticeExcept(alice, room, "I deleted your edit", before)
	select {
	case out := <-s.cl.Outbox:
		t.Errorf("the network got %+v", out)
	default:
	}
}

// TestCorrectedSecretCommandInAPortalDeletesTheTypo: a command with a
// password whose typo alice corrects by an edit in a portal is not run
// there, and its edit is deleted; the typo, which holds the same
// password, was left in the room, alice told that others could read
// her message "until I deleted it". It is deleted too now, as the typo
// of one run in the management room is.
func TestCorrectedSecretCommandInAPortalDeletesTheTypo(t *testing.T) {
	s := newScene(t, false)
	h, alice := s.h, s.alice
	room := s.openPortal(t, "hello")

	before := ferrytest.Seen(alice, room)
	typo := alice.SendText(t, room, "!ferry test secrett hunter2")
	h.WaitForBotNoticeExcept(alice, room, "Unknown command `test secrett`", before)
	before = ferrytest.Seen(alice, room)
	edit := editMessage(t, h, alice, room, typo, "!ferry test secret hunter2")
	h.WaitForBotNoticeExcept(alice, room, "Not run here", before)
	waitRedacted(t, alice, room, edit)
	waitRedacted(t, alice, room, typo)
}
