package whatsapp

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"go.mau.fi/util/dbutil"
	"go.mau.fi/whatsmeow/proto/waCommon"
	"go.mau.fi/whatsmeow/proto/waE2E"
	"go.mau.fi/whatsmeow/types"
	"go.mau.fi/whatsmeow/types/events"
	"google.golang.org/protobuf/proto"

	"github.com/ferrybridge/ferry/bridge/network"
	"github.com/ferrybridge/ferry/internal/dbtest"
	"github.com/ferrybridge/ferry/internal/pgtest"
)

// editTo is src's edit of target to content.
func editTo(editID string, src types.MessageSource, target string, content *waE2E.Message) *events.Message {
	return &events.Message{Info: types.MessageInfo{MessageSource: src, ID: editID, Timestamp: msgTime, Edit: types.EditAttributeMessageEdit},
		RawMessage: &waE2E.Message{ProtocolMessage: &waE2E.ProtocolMessage{
			Type:          waE2E.ProtocolMessage_MESSAGE_EDIT.Enum(),
			Key:           &waCommon.MessageKey{RemoteJID: proto.String(src.Chat.String()), FromMe: proto.Bool(src.IsFromMe), ID: proto.String(target)},
			EditedMessage: content,
		}}}
}

// captionEdit is src's edit of the caption of target, a document.
func captionEdit(editID string, src types.MessageSource, target, caption string) *events.Message {
	return editTo(editID, src, target, &waE2E.Message{DocumentMessage: &waE2E.DocumentMessage{
		Caption: proto.String(caption), Mimetype: proto.String("application/pdf"), FileName: proto.String("minutes.pdf"),
	}})
}

// handedOver describes evts with what each acts on: "edit B1",
// "redact B1/caption", "answer E2 to B1 as caption.txt".
func handedOver(evts []network.Event) string {
	var out []string
	for _, evt := range evts {
		switch e := evt.(type) {
		case *network.Edit:
			out = append(out, "edit "+string(e.Target))
		case *network.Redaction:
			if e.Part != "" {
				out = append(out, fmt.Sprintf("redact %s/%s", e.Target, e.Part))
			} else {
				out = append(out, "redact "+string(e.Target))
			}
		case *network.Message:
			var to network.MessageID
			if e.ReplyTo != nil {
				to = e.ReplyTo.ID
			}
			out = append(out, fmt.Sprintf("answer %s to %s as %s", e.ID, to, e.Parts[0].Content.FileName))
		default:
			out = append(out, fmt.Sprintf("%T", evt))
		}
	}
	return strings.Join(out, "; ")
}

// TestCaptionEditReplacesTheWholeCaption: a document's caption too long
// for Matrix arrives with the whole caption as caption.txt beside it.
// Bob's edit to a caption that fits takes that file away; his edit to one
// too long arrives as an answer with the new caption as caption.txt; and
// a later edit takes that answer away, as a later long one does. The
// deletion of the document then has no answer left to delete.
func TestCaptionEditReplacesTheWholeCaption(t *testing.T) {
	env := newEnv(t, sqliteDB(t), "")
	bob := types.MessageSource{Chat: bobPN, Sender: bobPN}
	env.seen(t, "B1", bob)
	env.seen(t, "B2", bob)
	long := strings.Repeat("a long new caption ", 10_000)
	steps := []struct {
		edit *events.Message
		want string
	}{
		{captionEdit("E1", bob, "B1", "the minutes"), "edit B1; redact B1/caption"},
		{captionEdit("E2", bob, "B1", long), "answer E2 to B1 as caption.txt"},
		{captionEdit("E3", bob, "B1", long+"!"), "answer E3 to B1 as caption.txt; redact E2"},
		{captionEdit("E4", bob, "B1", "the minutes, final"), "edit B1; redact B1/caption; redact E3"},
		// A text's answers go as a caption's do.
		{hugeEdit("E5", bob, "B2"), "answer E5 to B2 as message.txt"},
		{editTo("E6", bob, "B2", plain("short again")), "edit B2; redact E5"},
	}
	for _, step := range steps {
		if !env.dispatch(step.edit) {
			t.Fatalf("the edit %s was not acknowledged", step.edit.Info.ID)
		}
		if _, handled := env.host.take(); handedOver(handled) != step.want {
			t.Errorf("the edit %s handed over %q; want %q", step.edit.Info.ID, handedOver(handled), step.want)
		}
	}
	if got := deletedForEveryone(t, env, bob, "B1"); got != "redact B1" {
		t.Errorf("the deletion handed over %q; want B1 deleted alone, its answers gone before", got)
	}
}

// deletedForEveryone has src delete target for everyone, and says what
// that handed over (handedOver).
func deletedForEveryone(t *testing.T, env *testEnv, src types.MessageSource, target string) string {
	t.Helper()
	revoke := &events.Message{Info: types.MessageInfo{MessageSource: src, ID: "D-" + target, Timestamp: msgTime}, RawMessage: &waE2E.Message{
		ProtocolMessage: &waE2E.ProtocolMessage{Type: waE2E.ProtocolMessage_REVOKE.Enum(),
			Key: &waCommon.MessageKey{RemoteJID: proto.String(src.Chat.String()), ID: proto.String(target)}},
	}}
	if !env.dispatch(revoke) {
		t.Fatalf("the deletion of %s was not acknowledged", target)
	}
	_, handled := env.host.take()
	return handedOver(handled)
}

// TestAnOlderEditLeavesTheAnswerOfANewerOne: WhatsApp may deliver Bob's
// edits out of order (one left for it to deliver again, as deliver does).
// An older edit arriving after the answer carrying a newer, long one does
// not delete that answer: the room keeps the text Bob wrote last. A newer
// edit still deletes the answers of older ones.
func TestAnOlderEditLeavesTheAnswerOfANewerOne(t *testing.T) {
	onBothDatabases(t, testAnOlderEditLeavesTheAnswerOfANewerOne)
}

func testAnOlderEditLeavesTheAnswerOfANewerOne(t *testing.T, db *dbutil.Database) {
	env := newEnv(t, db, "")
	bob := types.MessageSource{Chat: bobPN, Sender: bobPN}
	env.seen(t, "B1", bob)
	at := func(evt *events.Message, minutes int) *events.Message {
		evt.Info.Timestamp = msgTime.Add(time.Duration(minutes) * time.Minute)
		return evt
	}
	steps := []struct {
		edit *events.Message
		want string
	}{
		{at(hugeEdit("E2", bob, "B1"), 2), "answer E2 to B1 as message.txt"},
		{at(editTo("E1", bob, "B1", plain("older")), 1), "edit B1"},
		{at(editTo("E3", bob, "B1", plain("newest")), 3), "edit B1; redact E2"},
	}
	for _, step := range steps {
		if !env.dispatch(step.edit) {
			t.Fatalf("the edit %s was not acknowledged", step.edit.Info.ID)
		}
		if _, handled := env.host.take(); handedOver(handled) != step.want {
			t.Errorf("the edit %s handed over %q; want %q", step.edit.Info.ID, handedOver(handled), step.want)
		}
	}
}

// onBothDatabases runs test on SQLite and on PostgreSQL, for queries of
// the network's own table whose meaning may differ between them.
func onBothDatabases(t *testing.T, test func(t *testing.T, db *dbutil.Database)) {
	t.Run("sqlite", func(t *testing.T) { test(t, sqliteDB(t)) })
	t.Run("postgres", func(t *testing.T) { test(t, dbtest.Open(t, "postgres", pgtest.URI(t)).Database) })
}
