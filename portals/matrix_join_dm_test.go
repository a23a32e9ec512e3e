package portals

import (
	"context"
	"testing"

	"maunium.net/go/mautrix"
	"maunium.net/go/mautrix/event"
)

// Someone who joins a portal room without being in the remote chat is
// removed (matrixJoin): the other side would not know they read along.
// In a direct chat the user opened with a ghost the bot was never
// invited and may not kick: the chat's ghost removes them instead.
func TestStrangerJoiningADirectChatWithoutTheBotIsRemoved(t *testing.T) {
	dc := newBotlessDirectChat(t)
	ctx := context.Background()
	carol := dc.hs.RegisterUser(t, "carol", false)
	if _, err := dc.alice.Client.InviteUser(ctx, dc.room, &mautrix.ReqInviteUser{UserID: carol.UserID}); err != nil {
		t.Fatal(err)
	}
	if _, err := carol.JoinRoomByID(ctx, dc.room); err != nil {
		t.Fatal(err)
	}
	if err := dc.p.matrixJoin(ctx, carol.UserID); err != nil {
		t.Errorf("removing carol, who is in no chat of bob's, failed: %v", err)
	}
	if got := dc.membership(t, carol.UserID); got != event.MembershipLeave {
		t.Errorf("carol's membership is %q, want leave (kicked)", got)
	}
}
