package whatsapp

import (
	"testing"
	"time"

	"go.mau.fi/whatsmeow/proto/waCommon"
	"go.mau.fi/whatsmeow/proto/waE2E"
	"go.mau.fi/whatsmeow/types"
	"google.golang.org/protobuf/proto"

	"github.com/ferrybridge/ferry/bridge/network"
	"github.com/ferrybridge/ferry/database"
	"github.com/ferrybridge/ferry/internal/dbtest"
)

// TestOutgoingUsesTheCoresTargetInfo covers messages the login's own table
// never saw (bridged by another login, or before the table existed): the
// core's TargetInfo says who sent them and when.
func TestOutgoingUsesTheCoresTargetInfo(t *testing.T) {
	env := newEnv(t, sqliteDB(t), "")
	// A group message of Carl, known to the core only.
	_, err := env.cl.React(env.ctx, &network.OutgoingReaction{
		OutgoingMeta: outMeta(groupPortal(group)), Target: network.MessageRef{ID: "C1"},
		TargetInfo: network.TargetInfo{Sender: "lid-300000000003", Timestamp: time.Now()}, Key: "👍",
	})
	if err != nil {
		t.Fatal(err)
	}
	assertProto(t, "reaction", withoutReactionTime(env.wa.lastSent(t).Msg), &waE2E.Message{ReactionMessage: &waE2E.ReactionMessage{
		Key:  &waCommon.MessageKey{FromMe: proto.Bool(false), ID: proto.String("C1"), RemoteJID: proto.String(group.String()), Participant: proto.String(carlLID.String())},
		Text: proto.String("👍"),
	}})
	// An own DM message: editable within the window, by the core's time.
	own := network.TargetInfo{Sender: network.UserID(ownPN.User), FromMe: true, Timestamp: time.Now().Add(-time.Minute)}
	edit := &network.OutgoingEdit{OutgoingMeta: outMeta(dmPortal(bobPN)), Target: network.MessageRef{ID: "O1"}, TargetInfo: own, Content: text("fixed")}
	if err = env.cl.Edit(env.ctx, edit); err != nil {
		t.Fatal(err)
	}
	if pm := env.wa.lastSent(t).Msg.GetEditedMessage().GetMessage().GetProtocolMessage(); pm.GetKey().GetID() != "O1" || !pm.GetKey().GetFromMe() || pm.GetEditedMessage().GetConversation() != "fixed" {
		t.Errorf("edit sent as %v", env.wa.lastSent(t).Msg)
	}
	edit.TargetInfo.Timestamp = time.Now().Add(-time.Hour)
	if err = env.cl.Edit(env.ctx, edit); network.UserMessage(err, "") == "" {
		t.Errorf("edit after the window: %v", err)
	}
	// Bob's DM message, as the core knows it: not Ferry's to delete.
	err = env.cl.Redact(env.ctx, &network.OutgoingRedaction{OutgoingMeta: outMeta(dmPortal(bobPN)), Target: "B9",
		TargetInfo: network.TargetInfo{Sender: network.UserID(bobPN.User), Timestamp: time.Now()}})
	if network.UserMessage(err, "") == "" {
		t.Errorf("redact Bob's message: %v", err)
	}
}

// TestReactionToABroadcastListMessageGoesToTheDM: a contact's broadcast
// list message is bridged into their DM; a reaction to it there (and its
// removal) must go to the DM chat, since whatsmeow refuses to send to a
// broadcast list.
func TestReactionToABroadcastListMessageGoesToTheDM(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *database.Database) {
		env := newEnv(t, db.Database, "")
		list := types.NewJID("1700000000", types.BroadcastServer)
		if !env.dispatch(textEvent("BC1", types.MessageSource{Chat: list, Sender: bobPN}, "hi all")) {
			t.Fatal("not acknowledged")
		}
		if _, handled := env.host.take(); len(handled) != 1 || handled[0].(*network.Message).Portal != dmPortal(bobPN) {
			t.Fatalf("handled %+v", handled)
		}
		target := network.MessageRef{ID: "BC1"}
		info := network.TargetInfo{Sender: network.UserID(bobPN.User), Timestamp: msgTime}
		if _, err := env.cl.React(env.ctx, &network.OutgoingReaction{OutgoingMeta: outMeta(dmPortal(bobPN)), Target: target, TargetInfo: info, Key: "👍"}); err != nil {
			t.Fatal(err)
		}
		reaction := env.wa.lastSent(t)
		if err := env.cl.Unreact(env.ctx, &network.OutgoingUnreaction{OutgoingMeta: outMeta(dmPortal(bobPN)), Target: target, TargetInfo: info}); err != nil {
			t.Fatal(err)
		}
		removal := env.wa.lastSent(t)
		for _, sent := range []sentMessage{reaction, removal} {
			key := sent.Msg.GetReactionMessage().GetKey()
			// whatsmeow refuses (ErrBroadcastListUnsupported) anything sent
			// to the broadcast server but status@broadcast. The real client
			// is not asked here: past that check it starts work (usync) that
			// outlives the test.
			if sent.To != bobPN || key.GetRemoteJID() != bobPN.String() || key.GetID() != "BC1" || key.GetFromMe() {
				t.Errorf("reaction %q sent to %s with key %v; want Bob's DM", sent.Msg.GetReactionMessage().GetText(), sent.To, key)
			}
		}
	})
}
