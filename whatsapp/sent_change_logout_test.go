package whatsapp

import (
	"testing"

	"go.mau.fi/whatsmeow/proto/waCommon"
	"go.mau.fi/whatsmeow/proto/waE2E"
	"go.mau.fi/whatsmeow/types"
	"go.mau.fi/whatsmeow/types/events"
	"google.golang.org/protobuf/proto"

	"github.com/ferrybridge/ferry/bridge/network"
)

// TestSentChangeOutlivesItsSendersLogout: the test account and Dave both
// use Ferry and share Bob's group. The test account reacts from Matrix and
// logs out before Dave's login, offline meanwhile, gets the reaction as any
// member's. The room has the reaction already (the core sent it, and keeps
// it when the login goes); Dave's login must not show it a second time.
func TestSentChangeOutlivesItsSendersLogout(t *testing.T) {
	env := newEnv(t, sqliteDB(t), "")
	dave := loadDave(t, env)
	bob := types.MessageSource{Chat: group, Sender: bobPN, IsGroup: true}
	env.seen(t, "G1", bob)
	if _, err := env.cl.React(env.ctx, &network.OutgoingReaction{OutgoingMeta: outMeta(groupPortal(group)), Target: network.MessageRef{ID: "G1"}, Key: "👍"}); err != nil {
		t.Fatalf("React = %v", err)
	}
	sent := env.wa.lastSent(t)
	if len(sent.Extra) != 1 || sent.Extra[0].ID == "" {
		t.Fatalf("the reaction was sent without an ID: %+v", sent.Extra)
	}
	if err := env.cl.Logout(env.ctx); err != nil {
		t.Fatalf("Logout = %v", err)
	}
	env.host.take()

	echo := &events.Message{
		Info: types.MessageInfo{MessageSource: types.MessageSource{Chat: group, Sender: ownPN, IsGroup: true}, ID: sent.Extra[0].ID, Timestamp: msgTime},
		RawMessage: &waE2E.Message{ReactionMessage: &waE2E.ReactionMessage{
			Key:  &waCommon.MessageKey{FromMe: proto.Bool(false), ID: proto.String("G1"), RemoteJID: proto.String(group.String()), Participant: proto.String(bobPN.String())},
			Text: proto.String("👍"), SenderTimestampMS: proto.Int64(msgTime.UnixMilli()),
		}},
	}
	if !dave.handleEvent(echo) {
		t.Fatal("the echo was not acknowledged")
	}
	if queued, handled := env.host.take(); len(queued)+len(handled) != 0 {
		t.Errorf("the echo of the reaction, sent from Matrix before its sender logged out, was handed to the core: %s", describe(append(queued, handled...)))
	}
}
