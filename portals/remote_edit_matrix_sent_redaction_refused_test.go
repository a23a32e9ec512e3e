package portals

import (
	"context"
	"strings"
	"testing"
	"time"

	"maunium.net/go/mautrix/event"
)

// In a room whose power levels keep Ferry's ghosts from removing even
// their own messages (Element's "Remove messages sent by me" raised),
// and the bot, which could redact for them, from removing any either,
// Dendrite refuses the ghost's redaction of the reply carrying alice's
// phone edit with HTTP 500. Her deletion of her message is not held
// retrying it for half an hour: she is told at once, answering that
// reply, that the room's power levels keep it. Real Dendrite.
func TestMatrixDeletionOfAMessageSentFromMatrixTellsOfAReplyThePowerLevelsKeep(t *testing.T) {
	sc, net, mine, reply := editedOnThePhone(t)
	ctx := context.Background()
	raiseRedactionLevel(t, sc, mine.p.RoomID, true)

	// Held retrying, the deletion would outlast the test: a bound, so
	// that a failing test ends.
	bounded, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	deletion := &event.Event{Type: event.EventRedaction, ID: "$deletion", Sender: sc.alice.UserID, RoomID: mine.p.RoomID, Redacts: mine.event}
	if err := mine.p.matrixRedaction(bounded, deletion); err != nil {
		t.Fatalf("her deletion of her message failed: %v", err)
	}
	if sent := sentToNetwork(net); len(sent) != 1 {
		t.Errorf("her deletion of her message sent %d things to the network, want it only", len(sent))
	}
	notice := noticeAnswering(t, sc, mine, reply)
	if !strings.Contains(notice.Body, "could not be deleted") || !strings.Contains(notice.Body, "power levels") {
		t.Errorf("the notice of the reply carrying her edit left in the room reads %q; want that the room's power levels keep it", notice.Body)
	}
}
