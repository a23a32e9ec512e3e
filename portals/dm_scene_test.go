package portals

import (
	"context"
	"testing"

	"maunium.net/go/mautrix"
	"maunium.net/go/mautrix/event"
	"maunium.net/go/mautrix/id"

	"github.com/ferrybridge/ferry/bridge/network"
	"github.com/ferrybridge/ferry/database"
	"github.com/ferrybridge/ferry/internal/testbed"
	"github.com/ferrybridge/ferry/puppets"
)

// botlessDirectChat is a direct chat alice opened, as Element does, with
// bob's ghost, the bot never invited, and its portal.
type botlessDirectChat struct {
	p     *Portal
	db    *database.Database
	alice *testbed.Client
	bob   *puppets.Ghost
	login *network.Login
	key   network.PortalKey
	room  id.RoomID
	hs    *testbed.Dendrite
}

func newBotlessDirectChat(t *testing.T) *botlessDirectChat {
	t.Helper()
	return newBotlessDirectChatIn(t, newUserScene(t))
}

// newBotlessDirectChatIn is newBotlessDirectChat in the scene sc.
func newBotlessDirectChatIn(t *testing.T, sc *userScene) *botlessDirectChat {
	t.Helper()
	hs, db, ghosts, m, alice, login := sc.hs, sc.db, sc.ghosts, sc.m, sc.alice, sc.login

	ctx := context.Background()
	key := network.PortalKey{Network: "ferry", Chat: "bob"}
	bob, err := ghosts.Get(ctx, network.GhostKey{Network: key.Network, User: "bob"})
	if err != nil {
		t.Fatal(err)
	}
	resp, err := alice.CreateRoom(ctx, &mautrix.ReqCreateRoom{Preset: "trusted_private_chat", IsDirect: true, Invite: []id.UserID{bob.Intent().UserID}})
	if err != nil {
		t.Fatal(err)
	}
	if err = bob.Intent().EnsureJoined(ctx, resp.RoomID); err != nil {
		t.Fatal(err)
	}
	if err = db.Portals.Put(ctx, &database.Portal{Key: key, RoomID: resp.RoomID, IsDirect: true, OtherUser: "bob"}); err != nil {
		t.Fatal(err)
	}
	p, err := m.Get(ctx, key)
	if err != nil {
		t.Fatal(err)
	}
	if !p.botOutside(ctx) {
		t.Fatal("the scene's bot is in the direct chat")
	}
	return &botlessDirectChat{p: p, db: db, alice: alice, bob: bob, login: login, key: key, room: resp.RoomID, hs: hs}
}

// membership is user's membership in the chat, as the homeserver has it
// (read by bob's ghost: the bot is not in the room).
func (dc *botlessDirectChat) membership(t *testing.T, user id.UserID) event.Membership {
	t.Helper()
	var member event.MemberEventContent
	if err := dc.bob.Intent().StateEvent(context.Background(), dc.room, event.StateMember, user.String(), &member); err != nil {
		t.Fatal(err)
	}
	return member.Membership
}
