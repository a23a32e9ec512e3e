package portals

import (
	"context"
	"testing"
	"time"

	"maunium.net/go/mautrix/event"

	"github.com/ferrybridge/ferry/bridge/network"
	"github.com/ferrybridge/ferry/database"
)

// A user who left a direct chat is invited back when the other person
// writes again (ensureUserIn), or the message would reach no one. In a
// direct chat the user opened with a ghost the bot was never invited and
// may not invite: the chat's ghost invites her instead.
func TestRemoteMessageInvitesBackTheUserWhoLeftADirectChatWithoutTheBot(t *testing.T) {
	dc := newBotlessDirectChat(t)
	ctx := context.Background()
	if err := dc.db.Logins.Put(ctx, &database.Login{Network: dc.key.Network, ID: dc.login.ID, UserMXID: dc.alice.UserID}); err != nil {
		t.Fatal(err)
	}
	if _, err := dc.alice.Client.LeaveRoom(ctx, dc.room); err != nil {
		t.Fatal(err)
	}
	msg := &network.Message{
		Meta:  network.Meta{Portal: dc.key, Sender: network.Sender{User: "bob"}, Timestamp: time.Now()},
		ID:    "msg-after-she-left",
		Parts: []network.Part{{Content: &event.MessageEventContent{MsgType: event.MsgText, Body: "are you there?"}}},
	}
	if err := dc.p.handleRemote(ctx, dc.login, msg); err != nil {
		t.Errorf("bob's message after alice left failed: %v", err)
	}
	if got := dc.membership(t, dc.alice.UserID); got != event.MembershipInvite {
		t.Errorf("alice's membership after bob wrote again is %q, want invite", got)
	}
	stored, err := dc.db.Messages.GetFirstPart(ctx, dc.key, "msg-after-she-left")
	if err != nil {
		t.Fatal(err)
	}
	if stored == nil {
		t.Error("bob's message after alice left was not bridged")
	}
}
