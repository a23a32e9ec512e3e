package portals

import (
	"context"
	"testing"
	"time"

	"github.com/ferrybridge/ferry/bridge/network"
	"github.com/ferrybridge/ferry/database"
)

// A message the user sent from Matrix is their own event; deleted for
// everyone on the phone, the bot redacts it (the account's ghost may
// not). In a direct chat the user opened with a ghost the bot was never
// invited, and the chat's ghost acts for it.
func TestRemoteDeletionOfAMessageSentFromMatrixInADirectChatWithoutTheBot(t *testing.T) {
	dc := newBotlessDirectChat(t)
	ctx := context.Background()
	sent, err := dc.alice.Client.SendText(ctx, dc.room, "sent from Matrix")
	if err != nil {
		t.Fatal(err)
	}
	err = dc.db.Messages.Put(ctx, &database.Message{
		Portal: dc.key, ID: "msg-mine", EventID: sent.EventID, RoomID: dc.room,
		Sender: dc.login.RemoteUser, SenderMXID: dc.alice.UserID, Timestamp: time.Now(),
	})
	if err != nil {
		t.Fatal(err)
	}
	fromPhone := network.Meta{Portal: dc.key, Sender: network.Sender{User: dc.login.RemoteUser, FromMe: true}, Timestamp: time.Now()}
	if err = dc.p.remoteRedaction(ctx, &network.Redaction{Meta: fromPhone, Target: "msg-mine"}); err != nil {
		t.Errorf("the deletion on the phone of her message from Matrix failed: %v", err)
	}
	if evt := redactedEventAs(t, dc.alice.Client, dc.room, sent.EventID); evt.Unsigned.RedactedBecause == nil {
		t.Errorf("her message from Matrix, deleted on the phone, is still in the room: %s", evt.Content.VeryRaw)
	}
}
