package whatsapp

import (
	"testing"
	"time"

	"go.mau.fi/util/dbutil"
	"go.mau.fi/whatsmeow/types"

	"github.com/ferrybridge/ferry/bridge/network"
)

// TestMatrixActionOnALongEditsAnswerReachesTheMessage: an edit too long
// for a Matrix edit arrives as an answer under the edit's own ID, which
// names no message a WhatsApp app shows. A reaction from Matrix to that
// answer, a reply quoting it, and a read receipt on it go to the message
// edited, where Bob sees them. Deleting the answer in Matrix deletes
// nothing on WhatsApp (it is only Ferry's showing of the edit), and a
// later deletion of the message has it no longer to delete.
func TestMatrixActionOnALongEditsAnswerReachesTheMessage(t *testing.T) {
	env := newEnv(t, sqliteDB(t), "")
	bob := types.MessageSource{Chat: bobPN, Sender: bobPN}
	env.seen(t, "B1", bob)
	if !env.dispatch(hugeEdit("E1", bob, "B1")) {
		t.Fatal("the edit was not acknowledged")
	}
	env.host.take()
	portal := dmPortal(bobPN)
	answer := network.TargetInfo{Sender: network.UserID(bobPN.User), Timestamp: msgTime}
	if _, err := env.cl.React(env.ctx, &network.OutgoingReaction{OutgoingMeta: outMeta(portal), Target: network.MessageRef{ID: "E1"}, TargetInfo: answer, Key: "👍"}); err != nil {
		t.Fatal(err)
	}
	if r := env.wa.lastSent(t).Msg.GetReactionMessage(); r.GetKey().GetID() != "B1" || r.GetKey().GetFromMe() || r.GetText() != "👍" {
		t.Errorf("the reaction to the answer went to WhatsApp as %v; want 👍 on Bob's B1", r)
	}
	reply := &network.ReplyTarget{MessageRef: network.MessageRef{ID: "E1"}, Sender: answer.Sender, Text: "* a long new text …"}
	if _, err := env.cl.Send(env.ctx, &network.OutgoingMessage{OutgoingMeta: outMeta(portal), Content: text("agreed"), ReplyTo: reply}); err != nil {
		t.Fatal(err)
	}
	if ci := env.wa.lastSent(t).Msg.GetExtendedTextMessage().GetContextInfo(); ci.GetStanzaID() != "B1" || ci.GetParticipant() != bobPN.String() {
		t.Errorf("the reply to the answer quotes %q of %q; want Bob's B1", ci.GetStanzaID(), ci.GetParticipant())
	}
	if err := env.cl.SendReceipt(env.ctx, portal, "E1"); err != nil {
		t.Fatal(err)
	}
	if reads := env.wa.reads; len(reads) != 1 || len(reads[0].IDs) != 1 || reads[0].IDs[0] != "B1" || reads[0].Chat != bobPN {
		t.Errorf("reading the answer marked %+v read on WhatsApp; want Bob's B1", reads)
	}

	sentBefore := len(env.wa.sent)
	if err := env.cl.Redact(env.ctx, &network.OutgoingRedaction{OutgoingMeta: outMeta(portal), Target: "E1", TargetInfo: answer}); err != nil {
		t.Fatalf("deleting the answer in Matrix: %v", err)
	}
	if len(env.wa.sent) != sentBefore {
		t.Errorf("deleting the answer in Matrix sent WhatsApp %v", env.wa.lastSent(t).Msg)
	}
	if got := deletedForEveryone(t, env, bob, "B1"); got != "redact B1" {
		t.Errorf("Bob's deletion of B1 handed over %q; want B1 deleted, its answer gone before", got)
	}
}

// TestReadingALongEditsAnswerReadsWhatCameBeforeIt: Bob sends B1 and B2,
// then edits B1 with a text too long for a Matrix edit. Its answer is
// the newest in the room; Alice reading it has read B2 too, which
// WhatsApp marks read, as a receipt on B2 would.
func TestReadingALongEditsAnswerReadsWhatCameBeforeIt(t *testing.T) {
	onBothDatabases(t, testReadingALongEditsAnswerReadsWhatCameBeforeIt)
}

func testReadingALongEditsAnswerReadsWhatCameBeforeIt(t *testing.T, db *dbutil.Database) {
	env := newEnv(t, db, "")
	bob := types.MessageSource{Chat: bobPN, Sender: bobPN}
	for i, msgID := range []string{"B1", "B2"} {
		msg := textEvent(msgID, bob, "original")
		msg.Info.Timestamp = msgTime.Add(time.Duration(i) * time.Minute)
		if !env.dispatch(msg) {
			t.Fatalf("incoming %s not acknowledged", msgID)
		}
	}
	edit := hugeEdit("E1", bob, "B1")
	edit.Info.Timestamp = msgTime.Add(2 * time.Minute)
	if !env.dispatch(edit) {
		t.Fatal("the edit was not acknowledged")
	}
	env.host.take()
	if err := env.cl.SendReceipt(env.ctx, dmPortal(bobPN), "E1"); err != nil {
		t.Fatal(err)
	}
	if reads := env.wa.reads; len(reads) != 1 || len(reads[0].IDs) != 1 || reads[0].IDs[0] != "B2" || reads[0].Chat != bobPN {
		t.Errorf("reading the answer marked %+v read on WhatsApp; want Bob's B2, the newest before it", reads)
	}
}
