package whatsapp

import (
	"strings"
	"testing"
	"time"

	"go.mau.fi/whatsmeow/proto/waCommon"
	"go.mau.fi/whatsmeow/proto/waE2E"
	"go.mau.fi/whatsmeow/types"
	"go.mau.fi/whatsmeow/types/events"
	"google.golang.org/protobuf/proto"

	"github.com/ferrybridge/ferry/bridge/network"
	"github.com/ferrybridge/ferry/database"
	"github.com/ferrybridge/ferry/internal/dbtest"
)

// hugeEdit is src's edit of target to a text too long for a Matrix edit:
// it arrives as the answer editID, with the new text attached.
func hugeEdit(editID string, src types.MessageSource, target string) *events.Message {
	return editTo(editID, src, target, &waE2E.Message{Conversation: proto.String(strings.Repeat("a long new text ", 10_000))})
}

// redactedIDs are the targets of the redactions among evts, in order.
func redactedIDs(evts []network.Event) []network.MessageID {
	var ids []network.MessageID
	for _, evt := range evts {
		if r, ok := evt.(*network.Redaction); ok {
			ids = append(ids, r.Target)
		}
	}
	return ids
}

// TestDeletedMessageTakesItsLongEditsAnswers: an edit too long for a
// Matrix edit arrives as an answer holding the new text. When the edited
// message is deleted for everyone, on WhatsApp or from Matrix, its answers
// go too: a deletion must not leave the message's text in the room.
func TestDeletedMessageTakesItsLongEditsAnswers(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *database.Database) {
		env := newEnv(t, db.Database, "")
		bob := types.MessageSource{Chat: bobPN, Sender: bobPN}
		env.seen(t, "B1", bob)
		if !env.dispatch(hugeEdit("E1", bob, "B1")) {
			t.Fatal("the edit was not acknowledged")
		}
		_, handled := env.host.take()
		if len(handled) != 1 {
			t.Fatalf("the edit handed over %s; want its answer", describe(handled))
		}
		if answer, ok := handled[0].(*network.Message); !ok || answer.ID != "E1" || answer.ReplyTo == nil || answer.ReplyTo.ID != "B1" {
			t.Fatalf("the edit handed over %s; want the answer E1 to B1", describe(handled))
		}
		revoke := &events.Message{Info: types.MessageInfo{MessageSource: bob, ID: "D1", Timestamp: msgTime.Add(time.Minute)}, RawMessage: &waE2E.Message{
			ProtocolMessage: &waE2E.ProtocolMessage{Type: waE2E.ProtocolMessage_REVOKE.Enum(),
				Key: &waCommon.MessageKey{RemoteJID: proto.String(bobPN.String()), ID: proto.String("B1")}},
		}}
		if !env.dispatch(revoke) {
			t.Fatal("the deletion was not acknowledged")
		}
		_, handled = env.host.take()
		if got := redactedIDs(handled); len(got) != 2 || got[0] != "B1" || got[1] != "E1" || len(handled) != 2 {
			t.Errorf("Bob's deletion handed over %s, deleting %v; want B1 and its answer E1 deleted", describe(handled), got)
		}

		// Alice's own message, sent from Matrix, edited long on her phone
		// and deleted from Matrix.
		portal := dmPortal(bobPN)
		res, err := env.cl.Send(env.ctx, &network.OutgoingMessage{OutgoingMeta: outMeta(portal), Content: text("hello")})
		if err != nil {
			t.Fatal(err)
		}
		own := types.MessageSource{Chat: bobPN, Sender: ownPN, IsFromMe: true}
		if !env.dispatch(hugeEdit("E2", own, string(res.ID))) {
			t.Fatal("the own edit was not acknowledged")
		}
		if _, handled = env.host.take(); len(handled) != 1 {
			t.Fatalf("the own edit handed over %s; want its answer", describe(handled))
		}
		if err = env.cl.Redact(env.ctx, &network.OutgoingRedaction{OutgoingMeta: outMeta(portal), Target: res.ID}); err != nil {
			t.Fatal(err)
		}
		queued, _ := env.host.take()
		if got := redactedIDs(queued); len(got) != 1 || got[0] != "E2" {
			t.Errorf("deleting the message from Matrix queued %s, deleting %v; want its answer E2 deleted", describe(queued), got)
		}
	})
}
