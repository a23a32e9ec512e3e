package wasim

import (
	"testing"
	"time"

	"go.mau.fi/whatsmeow/proto/waCommon"
	"go.mau.fi/whatsmeow/proto/waE2E"
	"go.mau.fi/whatsmeow/proto/waHistorySync"
	"go.mau.fi/whatsmeow/proto/waWeb"
	"go.mau.fi/whatsmeow/types/events"
	"google.golang.org/protobuf/proto"
)

// TestHistorySyncAfterLinking: the phone sends history to its freshly
// linked device: a Signal-encrypted notification from device 0 (trusted
// by whatsmeow as the account key) pointing at an encrypted blob, which
// whatsmeow downloads, decrypts and emits as events.HistorySync.
func TestHistorySyncAfterLinking(t *testing.T) {
	e := newEnv(t)
	phone := e.phone("15550001111", "Alice")
	c := e.newClient("alice")
	e.pair(c, phone)

	hs := &waHistorySync.HistorySync{
		SyncType: waHistorySync.HistorySync_INITIAL_BOOTSTRAP.Enum(),
		Conversations: []*waHistorySync.Conversation{{
			ID: proto.String("15550002222@s.whatsapp.net"),
			Messages: []*waHistorySync.HistorySyncMsg{{
				Message: &waWeb.WebMessageInfo{
					Key:              &waCommon.MessageKey{RemoteJID: proto.String("15550002222@s.whatsapp.net"), FromMe: proto.Bool(false), ID: proto.String("OLD1")},
					Message:          &waE2E.Message{Conversation: proto.String("from last year")},
					MessageTimestamp: proto.Uint64(1700000000),
				},
			}},
		}},
	}
	if err := phone.SendHistorySync(t.Context(), hs); err != nil {
		t.Fatalf("send history: %v", err)
	}
	got := waitFor[*events.HistorySync](t, c, 10*time.Second)
	convs := got.Data.GetConversations()
	if got.Data.GetSyncType() != waHistorySync.HistorySync_INITIAL_BOOTSTRAP || len(convs) != 1 {
		t.Fatalf("history sync %s with %d conversations", got.Data.GetSyncType(), len(convs))
	}
	msgs := convs[0].GetMessages()
	if convs[0].GetID() != "15550002222@s.whatsapp.net" || len(msgs) != 1 ||
		msgs[0].GetMessage().GetMessage().GetConversation() != "from last year" {
		t.Errorf("conversation %s with %v", convs[0].GetID(), msgs)
	}
	// The notification was receipted, so it is not sent again.
	waitSettled(t, e.sim, *c.cli.Store.ID)
}
