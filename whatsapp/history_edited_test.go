package whatsapp

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"go.mau.fi/whatsmeow/proto/waCommon"
	"go.mau.fi/whatsmeow/proto/waE2E"
	"go.mau.fi/whatsmeow/proto/waHistorySync"
	"go.mau.fi/whatsmeow/types"
	"google.golang.org/protobuf/proto"

	"github.com/ferrybridge/ferry/bridge/network"
)

// editInHistory is an edit of target as the phone hands it over in
// history: under the edit's own key, in WhatsApp's edit envelope.
func editInHistory(chat types.JID, editID, target string, at time.Time, text string) *waHistorySync.HistorySyncMsg {
	return webMsg(chat, editID, false, types.EmptyJID, at, &waE2E.Message{EditedMessage: &waE2E.FutureProofMessage{Message: &waE2E.Message{
		ProtocolMessage: &waE2E.ProtocolMessage{
			Type:          waE2E.ProtocolMessage_MESSAGE_EDIT.Enum(),
			Key:           &waCommon.MessageKey{RemoteJID: proto.String(chat.String()), ID: proto.String(target)},
			EditedMessage: plain(text),
		},
	}}})
}

// TestHistoryShowsEditedMessagesWithTheirLastText: history hands over an
// edit under its own key, in WhatsApp's edit envelope, and whatsmeow's
// parsing of it gives the edited message's ID and the new content. Edits
// that fit and edits too long for a Matrix edit are treated alike: the
// message arrives once, at its own time, with its last text (a long one
// as message.txt), and no edit nor answer carrying one is replayed.
func TestHistoryShowsEditedMessagesWithTheirLastText(t *testing.T) {
	env := newEnv(t, sqliteDB(t), historyConfig)
	now := time.Now().Truncate(time.Second)
	long := strings.Repeat("a long new text ", 10_000)
	env.dispatch(historySync(waHistorySync.HistorySync_INITIAL_BOOTSTRAP,
		conversation(bobPN,
			editInHistory(bobPN, "E2", "B2", now.Add(-time.Minute), long),
			editInHistory(bobPN, "E1", "B1", now.Add(-2*time.Minute), "b1 edited"),
			webMsg(bobPN, "B2", false, types.EmptyJID, now.Add(-time.Hour), plain("b2")),
			webMsg(bobPN, "B1", false, types.EmptyJID, now.Add(-2*time.Hour), plain("b1")),
		),
	))
	got := env.waitHandled(t, 1)
	time.Sleep(100 * time.Millisecond)
	got = env.waitHandled(t, 1)
	if desc, want := describe(got), fmt.Sprintf("backfill %s [B1 B2]", chatIDOf(bobPN)); desc != want {
		t.Fatalf("handed over:\n got %s\nwant %s", desc, want)
	}
	msgs := got[0].(*network.Backfill).Messages
	for i, want := range []struct {
		at       time.Time
		body     string
		fileName string
	}{
		{now.Add(-2 * time.Hour), "b1 edited", ""},
		{now.Add(-time.Hour), "a long new text", "message.txt"},
	} {
		m := msgs[i]
		if len(m.Parts) != 1 || m.ReplyTo != nil || !m.Timestamp.Equal(want.at) {
			t.Errorf("%s: %d parts at %v, answering %+v; want one part at %v, no answer", m.ID, len(m.Parts), m.Timestamp, m.ReplyTo, want.at)
			continue
		}
		if c := m.Parts[0].Content; !strings.HasPrefix(c.Body, want.body) || c.FileName != want.fileName {
			t.Errorf("%s shows %.40q as %q; want %q as %q", m.ID, c.Body, c.FileName, want.body, want.fileName)
		}
	}
}
