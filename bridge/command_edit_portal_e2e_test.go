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
