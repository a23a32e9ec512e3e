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
	"github.com/ferrybridge/ferry/internal/testbed"
)

// A reaction the Matrix user made from Matrix is their own event, not
// their account's ghost's. When they change or remove it on another
// device (WhatsApp: on the phone), the reaction the network reports
// replaces or removes it: its event must go, though the ghost, with no
// power to redact the events of others, cannot redact it.
func TestRemoteChangeOfAReactionSentFromMatrix(t *testing.T) {
	sc := newUserScene(t)
	as, db, ghosts, login := sc.as, sc.db, sc.ghosts, sc.login
	ctx := context.Background()
	mr := sc.reactionsRoom(t)
	p, key, room := mr.p, mr.p.Key, mr.p.RoomID

	// Two messages bridged, each with a reaction alice made from Matrix,
	// changed and removed on her phone.
	changed, removed := mr.changeAndRemoveOnPhone(t)
	fromPhone := network.Meta{Portal: key, Sender: network.Sender{User: login.RemoteUser, FromMe: true}, Timestamp: time.Now()}

	// A reaction her ghost sent (made on the phone) is still taken back
	// by the ghost itself, as before.
	mr.post(t, "msg-phone")
	fromPhone.Timestamp = time.Now()
	if err := p.remoteReaction(ctx, login, &network.Reaction{Meta: fromPhone, Target: network.MessageRef{ID: "msg-phone"}, Key: "👍"}); err != nil {
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

	wantGone(t, as.BotClient(), room, changed, removed)
}

// reactionsRoom is the portal of the chat "#reactions" with a room alice
// is in, for the reactions she makes from Matrix there to messages the
// bot posts.
func (sc *userScene) reactionsRoom(t *testing.T) matrixReactions {
	t.Helper()
	ctx := context.Background()
	room := testbed.CreateRoom(t, sc.as, &mautrix.ReqCreateRoom{Preset: "private_chat", Invite: []id.UserID{sc.alice.UserID}})
	if _, err := sc.alice.JoinRoomByID(ctx, room); err != nil {
		t.Fatal(err)
	}
	key := network.PortalKey{Network: "ferry", Chat: "#reactions"}
	if err := sc.db.Portals.Put(ctx, &database.Portal{Key: key, RoomID: room}); err != nil {
		t.Fatal(err)
	}
	p, err := sc.m.Get(ctx, key)
	if err != nil {
		t.Fatal(err)
	}
	return matrixReactions{p: p, db: sc.db, alice: sc.alice, login: sc.login, poster: sc.as.BotClient()}
}

// matrixReactions are reactions alice makes from Matrix in p's room to
// messages poster sends there (stored as bob's, with senderMXID).
type matrixReactions struct {
	p          *Portal
	db         *database.Database
	alice      *testbed.Client
	login      *network.Login
	poster     *mautrix.Client
	senderMXID id.UserID
}

// post bridges a message msgID (bob's, with senderMXID) and returns its
// event.
func (s matrixReactions) post(t *testing.T, msgID network.MessageID) id.EventID {
	t.Helper()
	ctx, room := context.Background(), s.p.RoomID
	sent, err := s.poster.SendText(ctx, room, string(msgID))
	if err != nil {
		t.Fatal(err)
	}
	if err = s.db.Messages.Put(ctx, &database.Message{Portal: s.p.Key, ID: msgID, EventID: sent.EventID, RoomID: room, Sender: "bob", SenderMXID: s.senderMXID, Timestamp: time.Now()}); err != nil {
		t.Fatal(err)
	}
	return sent.EventID
}

// react bridges a message msgID, and a reaction alice makes to it from
// Matrix, stored as matrixReaction stores it: her remote account is its
// sender, and she is the one who sent it from Matrix.
func (s matrixReactions) react(t *testing.T, msgID network.MessageID) id.EventID {
	t.Helper()
	ctx, key, room := context.Background(), s.p.Key, s.p.RoomID
	target := s.post(t, msgID)
	content := &event.ReactionEventContent{RelatesTo: *(&event.RelatesTo{}).SetAnnotation(target, "👍")}
	reacted, err := s.alice.SendMessageEvent(ctx, room, event.EventReaction, content)
	if err != nil {
		t.Fatal(err)
	}
	err = s.db.Reactions.Put(ctx, &database.Reaction{
		Portal: key, Target: msgID, Sender: s.login.RemoteUser, Key: "👍", SenderMXID: s.alice.UserID,
		EventID: reacted.EventID, RoomID: room, Timestamp: time.Now(),
	})
	if err != nil {
		t.Fatal(err)
	}
	return reacted.EventID
}

// changeAndRemoveOnPhone has alice react from Matrix to two messages,
// then, on her phone, change the first reaction to a heart and take the
// second back. It returns the two reactions' events, which must go.
func (s matrixReactions) changeAndRemoveOnPhone(t *testing.T) (changed, removed id.EventID) {
	t.Helper()
	ctx := context.Background()
	changed, removed = s.react(t, "msg-changed"), s.react(t, "msg-removed")
	fromPhone := network.Meta{Portal: s.p.Key, Sender: network.Sender{User: s.login.RemoteUser, FromMe: true}, Timestamp: time.Now()}
	if err := s.p.remoteReaction(ctx, s.login, &network.Reaction{Meta: fromPhone, Target: network.MessageRef{ID: "msg-changed"}, Key: "❤️"}); err != nil {
		t.Errorf("the change of her reaction on the phone failed: %v", err)
	}
	if err := s.p.remoteReactionRemove(ctx, s.login, &network.ReactionRemove{Meta: fromPhone, Target: network.MessageRef{ID: "msg-removed"}}); err != nil {
		t.Errorf("the removal of her reaction on the phone failed: %v", err)
	}
	return changed, removed
}

// wantGone checks, as reader sees room, that the reactions alice changed
// and removed on the phone are redacted.
func wantGone(t *testing.T, reader *mautrix.Client, room id.RoomID, changed, removed id.EventID) {
	t.Helper()
	for what, eventID := range map[string]id.EventID{"changed": changed, "removed": removed} {
		if evt := redactedEventAs(t, reader, room, eventID); evt.Unsigned.RedactedBecause == nil {
			t.Errorf("her reaction from Matrix she %s on the phone is still in the room: %s", what, evt.Content.VeryRaw)
		}
	}
}

// redactedEvent reads eventID once the homeserver shows it redacted, or
// as it stands after a few seconds (Dendrite's history follows a moment
// behind).
func redactedEvent(t *testing.T, as *appservice.AppService, room id.RoomID, eventID id.EventID) *event.Event {
	t.Helper()
	return redactedEventAs(t, as.BotClient(), room, eventID)
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

// redactor is who redacted evt, or "nobody".
func redactor(evt *event.Event) string {
	if evt.Unsigned.RedactedBecause == nil {
		return "nobody"
	}
	return evt.Unsigned.RedactedBecause.Sender.String()
}
