package portals

import (
	"context"
	"testing"
	"time"

	"maunium.net/go/mautrix"
	"maunium.net/go/mautrix/appservice"
	"maunium.net/go/mautrix/event"
	"maunium.net/go/mautrix/id"

	"github.com/ferrybridge/ferry/bridge/network"
	"github.com/ferrybridge/ferry/database"
)

// A reaction the Matrix user made from Matrix is their own event, not
// their account's ghost's. When they change or remove it on another
// device (WhatsApp: on the phone), the reaction the network reports
// replaces or removes it: its event must go, though the ghost, with no
// power to redact the events of others, cannot redact it.
func TestRemoteChangeOfAReactionSentFromMatrix(t *testing.T) {
	sc := newUserScene(t)
	as, db, ghosts, m, alice, login := sc.as, sc.db, sc.ghosts, sc.m, sc.alice, sc.login

	ctx := context.Background()
	resp, err := as.BotClient().CreateRoom(ctx, &mautrix.ReqCreateRoom{Preset: "private_chat", Invite: []id.UserID{alice.UserID}})
	if err != nil {
		t.Fatal(err)
	}
	room := resp.RoomID
	if _, err = alice.JoinRoomByID(ctx, room); err != nil {
		t.Fatal(err)
	}
	key := network.PortalKey{Network: "ferry", Chat: "#reactions"}
	if err = db.Portals.Put(ctx, &database.Portal{Key: key, RoomID: room}); err != nil {
		t.Fatal(err)
	}
	p, err := m.Get(ctx, key)
	if err != nil {
		t.Fatal(err)
	}

	// Two messages bridged, each with a reaction alice made from Matrix
	// (as matrixReaction stores it: her remote account is its sender).
	reactFromMatrix := func(msgID network.MessageID) id.EventID {
		t.Helper()
		sent, err := as.BotClient().SendText(ctx, room, string(msgID))
		if err != nil {
			t.Fatal(err)
		}
		now := time.Now()
		if err = db.Messages.Put(ctx, &database.Message{Portal: key, ID: msgID, EventID: sent.EventID, RoomID: room, Sender: "bob", Timestamp: now}); err != nil {
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

	// On her phone she changes the first to a heart, and takes the second back.
	if err = p.remoteReaction(ctx, login, &network.Reaction{Meta: fromPhone, Target: network.MessageRef{ID: "msg-changed"}, Key: "❤️"}); err != nil {
		t.Errorf("the change of her reaction on the phone failed: %v", err)
	}
	if err = p.remoteReactionRemove(ctx, &network.ReactionRemove{Meta: fromPhone, Target: network.MessageRef{ID: "msg-removed"}}); err != nil {
		t.Errorf("the removal of her reaction on the phone failed: %v", err)
	}
	// A reaction her ghost sent (made on the phone) is still taken back
	// by the ghost itself, as before.
	sent, err := as.BotClient().SendText(ctx, room, "msg-phone")
	if err != nil {
		t.Fatal(err)
	}
	if err = db.Messages.Put(ctx, &database.Message{Portal: key, ID: "msg-phone", EventID: sent.EventID, RoomID: room, Sender: "bob", Timestamp: time.Now()}); err != nil {
		t.Fatal(err)
	}
	fromPhone.Timestamp = time.Now()
	if err = p.remoteReaction(ctx, login, &network.Reaction{Meta: fromPhone, Target: network.MessageRef{ID: "msg-phone"}, Key: "👍"}); err != nil {
		t.Fatal(err)
	}
	byGhost, err := db.Reactions.Get(ctx, key, "msg-phone", login.RemoteUser, "")
	if err != nil || byGhost == nil {
		t.Fatalf("the reaction from her phone is not stored (%v)", err)
	}
	fromPhone.Timestamp = time.Now().Add(time.Second)
	if err = p.remoteReaction(ctx, login, &network.Reaction{Meta: fromPhone, Target: network.MessageRef{ID: "msg-phone"}, Key: "❤️"}); err != nil {
		t.Fatal(err)
	}
	evt := redactedEvent(t, as, room, byGhost.EventID)
	ghost := ghosts.MXID(network.GhostKey{Network: key.Network, User: login.RemoteUser})
	if evt.Unsigned.RedactedBecause == nil || evt.Unsigned.RedactedBecause.Sender != ghost {
		t.Errorf("her ghost's reaction, changed on the phone, was redacted by %v; want her ghost %s", redactor(evt), ghost)
	}

	for what, eventID := range map[string]id.EventID{"changed": changed, "removed": removed} {
		if evt := redactedEvent(t, as, room, eventID); evt.Unsigned.RedactedBecause == nil {
			t.Errorf("her reaction from Matrix she %s on the phone is still in the room: %s", what, evt.Content.VeryRaw)
		}
	}
}

// redactedEvent reads eventID once the homeserver shows it redacted, or
// as it stands after a few seconds (Dendrite's history follows a moment
// behind).
func redactedEvent(t *testing.T, as *appservice.AppService, room id.RoomID, eventID id.EventID) *event.Event {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		evt, err := as.BotClient().GetEvent(context.Background(), room, eventID)
		if err == nil && (evt.Unsigned.RedactedBecause != nil || time.Now().After(deadline)) {
			return evt
		}
		if err != nil && time.Now().After(deadline) {
			t.Fatal(err)
		}
	}
}

// redactor is who redacted evt, or "nobody".
func redactor(evt *event.Event) string {
	if evt.Unsigned.RedactedBecause == nil {
		return "nobody"
	}
	return evt.Unsigned.RedactedBecause.Sender.String()
}
