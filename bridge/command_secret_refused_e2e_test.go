package bridge_test

import (
	"strings"
	"testing"
	"time"

	"maunium.net/go/mautrix"
	"maunium.net/go/mautrix/event"
	"maunium.net/go/mautrix/id"

	"github.com/ferrybridge/ferry/bridge/config"
	"github.com/ferrybridge/ferry/bridge/network"
	"github.com/ferrybridge/ferry/internal/ferrytest"
	"github.com/ferrybridge/ferry/internal/testnet"
)

// TestSecretCommandWithoutPermissionIsDeleted: in a portal, a command
// with a secret from someone whose permission does not reach it (carol,
// relayed) is refused for that, and deleted as a secret command from
// someone allowed to run it is: the room must not keep the password.
func TestSecretCommandWithoutPermissionIsDeleted(t *testing.T) {
	tn := testnet.New()
	name := "The Channel"
	moderator := 50
	tn.Chats["chan"] = &network.ChatInfo{Name: &name, Members: &network.MemberList{Members: []network.Member{
		{User: "alice", IsMe: true, PowerLevel: &moderator},
		{User: "bob"},
	}}}
	h := ferrytest.Start(t, ferrytest.Options{Permissions: config.Permissions{
		"@alice:localhost": config.LevelUser, "@carol:localhost": config.LevelRelay,
	}}, tn)
	alice, carol := h.User("alice"), h.User("carol")
	mgmt := h.ManagementRoom(alice)
	cl := loginTest(t, h, tn, alice, mgmt, "alice")
	ctx := h.Context(2 * time.Minute)
	portal := network.PortalKey{Network: testnet.ID, Chat: "chan"}
	if err := cl.Handle(ctx, textMessage(portal, "c1", "bob", time.Now(), "hello channel")); err != nil {
		t.Fatal(err)
	}
	room := portalInvite(t, alice, mgmt)
	alice.Join(t, room.String())
	// Relaying lets carol, without a login, sit in the room.
	h.Command(alice, room, "!ferry relay on", "Relaying is on")
	if _, err := alice.InviteUser(ctx, room, &mautrix.ReqInviteUser{UserID: carol.UserID}); err != nil {
		t.Fatal(err)
	}
	carol.WaitForInvite(t, waitLong, func(r id.RoomID, _ []*event.Event) bool { return r == room })
	carol.Join(t, room.String())

	before := ferrytest.Seen(alice, room)
	secret := carol.SendText(t, room, "!ferry test secret hunter2")
	h.WaitForBotNoticeExcept(alice, room, "needs `user` permission", before)
	alice.WaitForEvent(t, room, waitLong, func(evt *event.Event) bool {
		return evt.Type == event.EventRedaction && evt.Redacts == secret
	})
	if said := botSaidSince(h, alice, room, before, "deleted it"); len(said) == 0 {
		t.Errorf("the refusal does not say the message was deleted")
	}
	// Nor was the command bridged.
	for {
		select {
		case out := <-cl.Outbox:
			if msg, ok := out.(*network.OutgoingMessage); ok && msg.Content != nil && strings.Contains(msg.Content.Body, "hunter2") {
				t.Errorf("the network got %q", msg.Content.Body)
			}
			continue
		default:
		}
		break
	}
}
