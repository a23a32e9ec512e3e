package whatsapp

import (
	"fmt"
	"testing"
	"time"

	"go.mau.fi/whatsmeow/proto/waCommon"
	"go.mau.fi/whatsmeow/proto/waE2E"
	"go.mau.fi/whatsmeow/proto/waHistorySync"
	"go.mau.fi/whatsmeow/types"
	"google.golang.org/protobuf/proto"
)

// TestHistorySecretEditNotReplayed: edits in history are not replayed (the
// phone hands over the edited message with its latest content), and an
// encrypted edit is no exception: one Ferry cannot decrypt (its target is
// older than the history, so no secret was stored) does not become a
// "could not read the edit" notice in the backfill.
func TestHistorySecretEditNotReplayed(t *testing.T) {
	env := newEnv(t, sqliteDB(t), historyConfig)
	now := time.Now().Truncate(time.Second)
	target := &waCommon.MessageKey{RemoteJID: proto.String(bobPN.String()), FromMe: proto.Bool(true), ID: proto.String("BEFORE")}
	edit := &waE2E.Message{SecretEncryptedMessage: &waE2E.SecretEncryptedMessage{
		TargetMessageKey: target, SecretEncType: waE2E.SecretEncryptedMessage_MESSAGE_EDIT.Enum(),
		EncPayload: []byte{1, 2, 3}, EncIV: make([]byte, 12),
	}}
	env.dispatch(historySync(waHistorySync.HistorySync_INITIAL_BOOTSTRAP,
		conversation(bobPN,
			webMsg(bobPN, "EDIT", false, types.EmptyJID, now.Add(-time.Minute), edit),
			webMsg(bobPN, "B1", false, types.EmptyJID, now.Add(-time.Hour), plain("b1")),
		),
	))
	got := env.waitHandled(t, 1)
	time.Sleep(100 * time.Millisecond)
	got = env.waitHandled(t, 1)
	if desc, want := describe(got), fmt.Sprintf("backfill %s [B1]", chatIDOf(bobPN)); desc != want {
		t.Errorf("handed over:\n got %s\nwant %s", desc, want)
	}
}
