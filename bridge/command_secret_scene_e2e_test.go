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
	"github.com/ferrybridge/ferry/internal/testbed"
	"github.com/ferrybridge/ferry/internal/testnet"
)

// secretRefusedScene starts Ferry on tn with alice a user and guest at
// level, has alice log in and join the portal of tn's "chan", runs inRoom
// there (nil for nothing), and invites guest in. Then guest sends
// "!ferry test secret hunter2" in the portal, and the test waits for the
// bot's refusal (a notice containing refusal), for the secret's
// redaction, and checks the refusal says it was deleted. It returns
// alice's login.
func secretRefusedScene(t *testing.T, tn *testnet.Connector, guest string, level config.Level, refusal string, inRoom func(h *ferrytest.Harness, alice *testbed.Client, room id.RoomID)) *testnet.Client {
	t.Helper()
	h := ferrytest.Start(t, ferrytest.Options{Permissions: config.Permissions{
		"@alice:localhost": config.LevelUser, "@" + guest + ":localhost": level,
	}}, tn)
	alice, other := h.User("alice"), h.User(guest)
	mgmt := h.ManagementRoom(alice)
	cl := loginTest(t, h, tn, alice, mgmt, "alice")
	ctx := h.Context(2 * time.Minute)
	portal := network.PortalKey{Network: testnet.ID, Chat: "chan"}
	if err := cl.Handle(ctx, textMessage(portal, "c1", "bob", time.Now(), "hello channel")); err != nil {
		t.Fatal(err)
	}
	room := portalInvite(t, alice, mgmt)
	alice.Join(t, room.String())
	if inRoom != nil {
		inRoom(h, alice, room)
	}
	if _, err := alice.InviteUser(ctx, room, &mautrix.ReqInviteUser{UserID: other.UserID}); err != nil {
		t.Fatal(err)
	}
	other.WaitForInvite(t, waitLong, func(r id.RoomID, _ []*event.Event) bool { return r == room })
	other.Join(t, room.String())

	before := ferrytest.Seen(alice, room)
	secret := other.SendText(t, room, "!ferry test secret hunter2")
	h.WaitForBotNoticeExcept(alice, room, refusal, before)
	alice.WaitForEvent(t, room, waitLong, func(evt *event.Event) bool {
		return evt.Type == event.EventRedaction && evt.Redacts == secret
	})
	if said := botSaidSince(h, alice, room, before, "deleted it"); len(said) == 0 {
		t.Errorf("the refusal does not say the message was deleted")
	}
	return cl
}
