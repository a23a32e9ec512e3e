package bridge_test

import (
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

// TestSecretCommandWithoutAnyPermissionIsDeleted: in a portal, a command
// with a secret from someone with no permission at all (dave, `none`) is
// refused as any command of theirs is, and deleted, as the refusal of
// someone with too little permission (relay) deletes it: the room must
// not keep the password.
func TestSecretCommandWithoutAnyPermissionIsDeleted(t *testing.T) {
	tn := testnet.New()
	h := ferrytest.Start(t, ferrytest.Options{Permissions: config.Permissions{
		"@alice:localhost": config.LevelUser, "@dave:localhost": config.LevelNone,
	}}, tn)
	alice, dave := h.User("alice"), h.User("dave")
	mgmt := h.ManagementRoom(alice)
	cl := loginTest(t, h, tn, alice, mgmt, "alice")
	ctx := h.Context(2 * time.Minute)
	portal := network.PortalKey{Network: testnet.ID, Chat: "chan"}
	if err := cl.Handle(ctx, textMessage(portal, "c1", "bob", time.Now(), "hello channel")); err != nil {
		t.Fatal(err)
	}
	room := portalInvite(t, alice, mgmt)
	alice.Join(t, room.String())
	if _, err := alice.InviteUser(ctx, room, &mautrix.ReqInviteUser{UserID: dave.UserID}); err != nil {
		t.Fatal(err)
	}
	dave.WaitForInvite(t, waitLong, func(r id.RoomID, _ []*event.Event) bool { return r == room })
	dave.Join(t, room.String())

	before := ferrytest.Seen(alice, room)
	secret := dave.SendText(t, room, "!ferry test secret hunter2")
	h.WaitForBotNoticeExcept(alice, room, "not allowed to use this bridge", before)
	alice.WaitForEvent(t, room, waitLong, func(evt *event.Event) bool {
		return evt.Type == event.EventRedaction && evt.Redacts == secret
	})
	if said := botSaidSince(h, alice, room, before, "deleted it"); len(said) == 0 {
		t.Errorf("the refusal does not say the message was deleted")
	}
}
