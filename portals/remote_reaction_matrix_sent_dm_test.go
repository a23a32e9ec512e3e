package portals

import (
	"context"
	"testing"
	"time"

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

// In a direct chat the user opened with a ghost, the bot was never
// invited: the chat's ghost acts for it (botOutside). A reaction the user
// made there from Matrix and changed or removed on the phone must go all
// the same: her account's ghost may not redact her event, and the bot,
// not in the room, cannot either.
func TestRemoteChangeOfAReactionSentFromMatrixInADirectChatWithoutTheBot(t *testing.T) {
	dc := newBotlessDirectChat(t)
	ctx := context.Background()
	p, db, alice, bob, login, key, room := dc.p, dc.db, dc.alice, dc.bob, dc.login, dc.key, dc.room

	reactFromMatrix := func(msgID network.MessageID) id.EventID {
		t.Helper()
		sent, err := bob.Intent().SendText(ctx, room, string(msgID))
		if err != nil {
			t.Fatal(err)
		}
		now := time.Now()
		if err = db.Messages.Put(ctx, &database.Message{Portal: key, ID: msgID, EventID: sent.EventID, RoomID: room, Sender: "bob", SenderMXID: bob.Intent().UserID, Timestamp: now}); err != nil {
			t.Fatal(err)
		}
		content := &event.ReactionEventContent{RelatesTo: *(&event.RelatesTo{}).SetAnnotation(sent.EventID, "👍")}
		reacted, err := alice.SendMessageEvent(ctx, room, event.EventReaction, content)
		if err != nil {
			t.Fatal(err)
		}
		err = db.Reactions.Put(ctx, &database.Reaction{
			Portal: key, Target: msgID, Sender: login.RemoteUser, Key: "👍", EventID: reacted.EventID, RoomID: room, Timestamp: now,
		})
		if err != nil {
			t.Fatal(err)
		}
		return reacted.EventID
	}
	changed, removed := reactFromMatrix("msg-changed"), reactFromMatrix("msg-removed")
	fromPhone := network.Meta{Portal: key, Sender: network.Sender{User: login.RemoteUser, FromMe: true}, Timestamp: time.Now()}

	if err := p.remoteReaction(ctx, login, &network.Reaction{Meta: fromPhone, Target: network.MessageRef{ID: "msg-changed"}, Key: "❤️"}); err != nil {
		t.Errorf("the change of her reaction on the phone failed: %v", err)
	}
	if err := p.remoteReactionRemove(ctx, &network.ReactionRemove{Meta: fromPhone, Target: network.MessageRef{ID: "msg-removed"}}); err != nil {
		t.Errorf("the removal of her reaction on the phone failed: %v", err)
	}
	for what, eventID := range map[string]id.EventID{"changed": changed, "removed": removed} {
		if evt := redactedEventAs(t, alice.Client, room, eventID); evt.Unsigned.RedactedBecause == nil {
			t.Errorf("her reaction from Matrix she %s on the phone is still in the room: %s", what, evt.Content.VeryRaw)
		}
	}
}

// redactedEventAs is redactedEvent read by client, for a room the bot is
// not in.
func redactedEventAs(t *testing.T, client *mautrix.Client, room id.RoomID, eventID id.EventID) *event.Event {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		evt, err := client.GetEvent(context.Background(), room, eventID)
		if err == nil && (evt.Unsigned.RedactedBecause != nil || time.Now().After(deadline)) {
			return evt
		}
		if err != nil && time.Now().After(deadline) {
			t.Fatal(err)
		}
	}
}
