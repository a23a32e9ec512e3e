package bridge_test

import (
	"testing"
	"time"

	"maunium.net/go/mautrix/event"

	"github.com/ferrybridge/ferry/bridge"
	"github.com/ferrybridge/ferry/bridge/network"
	"github.com/ferrybridge/ferry/internal/ferrytest"
)

// holdRoomQueueOn holds the room's command queue once it handled the
// message whose body is body, until release is called; reached is
// closed then. The commands sent after it wait, routed but not handled.
func holdRoomQueueOn(t *testing.T, body string) (reached <-chan struct{}, release func()) {
	t.Helper()
	hold, reached, release := firstHeld()
	bridge.HoldHandledEvents(t, func(evt *event.Event) {
		if msg := evt.Content.AsMessage(); msg != nil && msg.Body == body {
			hold()
		}
	})
	t.Cleanup(release)
	return reached, release
}

// TestFastEditOfASecretInAPortalIsTheBots: alice types a command with a
// password in a portal and at once edits it, the prefix left out of the
// edit. The edit was routed while the command still waited in the room's
// queue, before the bot had deleted its secret: it went to the chat's
// portal ("never bridged") and stayed in the room, the corrected secret
// readable. It waits behind the command now, and is deleted with it; the
// network gets neither. The room's queue is held on a command before, so
// that both are routed before either is handled.
func TestFastEditOfASecretInAPortalIsTheBots(t *testing.T) {
	s := newScene(t, false)
	h, alice := s.h, s.alice
	room := s.openPortal(t, "hello")
	reached, release := holdRoomQueueOn(t, "!ferry version")
	before := ferrytest.Seen(alice, room)
	alice.SendText(t, room, "!ferry version")
	select {
	case <-reached:
	case <-time.After(waitLong):
		t.Fatal("the room's queue never handled `!ferry version`")
	}
	secret := alice.SendText(t, room, "!ferry test secret hunter2")
	edit := editMessage(t, h, alice, room, secret, "test secret hunter3")
	// Routed in order: once this reaches the network, the edit was
	// routed, and had it gone to the portal, handled before it.
	alice.SendText(t, room, "after the edit")
	if got := expectOut[*network.OutgoingMessage](t, s.cl); got.Content.Body != "after the edit" {
		t.Fatalf("the network got %q before the message after the edit", got.Content.Body)
	}
	release()
	waitRedacted(t, alice, room, secret)
	waitRedacted(t, alice, room, edit)
	h.WaitForBotNoticeExcept(alice, room, "I deleted your edit", before)
	if said := botSaidSince(h, alice, room, before, "never bridged"); len(said) > 0 {
		t.Errorf("the edit of the secret was taken for the chat: %q", said)
	}
	for _, body := range botSaidSince(h, alice, room, before, "hunter") {
		t.Errorf("the bot showed the secret back: %q", body)
	}
	s.nothingSent(t)
}
