package whatsapp

import (
	"testing"
	"time"

	"go.mau.fi/whatsmeow/proto/waCommon"
	"go.mau.fi/whatsmeow/proto/waE2E"
	"go.mau.fi/whatsmeow/proto/waHistorySync"
	"go.mau.fi/whatsmeow/proto/waWeb"
	"google.golang.org/protobuf/proto"
)

// fuzzConversationSeeds are conversations of a history sync as WhatsApp
// sends them, with the message shapes of FuzzIncomingMessage inside.
func fuzzConversationSeeds() []*waHistorySync.Conversation {
	ts := uint64(msgTime.Unix())
	web := func(id, remote string, fromMe bool, participant string, msg *waE2E.Message) *waHistorySync.HistorySyncMsg {
		w := &waWeb.WebMessageInfo{
			Key:              &waCommon.MessageKey{RemoteJID: proto.String(remote), FromMe: proto.Bool(fromMe), ID: proto.String(id)},
			Message:          msg,
			MessageTimestamp: proto.Uint64(ts),
		}
		if participant != "" {
			w.Participant = proto.String(participant)
		}
		return &waHistorySync.HistorySyncMsg{Message: w}
	}
	var msgs []*waHistorySync.HistorySyncMsg
	for i, m := range fuzzMessageSeeds() {
		msgs = append(msgs, web("H"+string(rune('A'+i%26))+string(rune('a'+i/26)), bobPN.String(), i%3 == 0, "", m))
	}
	hello := &waE2E.Message{Conversation: proto.String("hello")}
	return []*waHistorySync.Conversation{
		{ID: proto.String(bobPN.String()), Messages: msgs},
		{ID: proto.String(bobLID.String()), PnJID: proto.String(bobPN.String()), Messages: []*waHistorySync.HistorySyncMsg{
			web("L1", bobLID.String(), false, "", hello), web("L2", bobLID.String(), true, "", hello)}},
		{ID: proto.String(carlLID.String()), PnJID: proto.String("bad"), Messages: []*waHistorySync.HistorySyncMsg{web("L3", carlLID.String(), false, "", hello)}},
		{ID: proto.String(group.String()), Name: proto.String("Group"), Messages: []*waHistorySync.HistorySyncMsg{
			web("G1", group.String(), false, bobPN.String(), hello), web("G2", group.String(), false, "", hello),
			web("G3", group.String(), false, "not a jid@@", hello), web("G4", group.String(), true, "", hello)}},
		{ID: proto.String("120363000000000077@g.us"), IsParentGroup: proto.Bool(true), Messages: []*waHistorySync.HistorySyncMsg{web("C1", "120363000000000077@g.us", false, bobPN.String(), hello)}},
		{ID: proto.String("120363000000000099@newsletter"), Messages: []*waHistorySync.HistorySyncMsg{web("N1", "120363000000000099@newsletter", false, "", hello)}},
		{ID: proto.String(bobPN.String()), Messages: []*waHistorySync.HistorySyncMsg{
			{Message: &waWeb.WebMessageInfo{Key: &waCommon.MessageKey{}, MessageTimestamp: proto.Uint64(ts)}},
			{Message: &waWeb.WebMessageInfo{Key: &waCommon.MessageKey{ID: proto.String("T0")}, Message: hello}},
			{Message: &waWeb.WebMessageInfo{Key: &waCommon.MessageKey{ID: proto.String("TMAX")}, Message: hello, MessageTimestamp: proto.Uint64(1<<64 - 1)}},
			{}, web("", "", false, "", hello)}},
		{ID: proto.String("status@broadcast")},
		{ID: proto.String("")},
	}
}

// FuzzHistoryConversation hands any conversation of a history sync (a
// protobuf WhatsApp sends a new login) to the selection and conversion
// the history queue runs, without the queue's recover: nothing may panic,
// and every message of a backfill belongs to its chat's portal and has
// parts with content, whose media can be fetched.
func FuzzHistoryConversation(f *testing.F) {
	for i, seed := range fuzzConversationSeeds() {
		data, err := proto.Marshal(seed)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data, i%2 == 0)
	}
	env, _ := newEnvLogged(f)
	f.Fuzz(func(t *testing.T, data []byte, maxAge bool) {
		conv := &waHistorySync.Conversation{}
		if proto.Unmarshal(data, conv) != nil {
			return
		}
		env.host.take()
		env.wa.forget()
		var oldest time.Time
		if maxAge {
			oldest = msgTime.Add(-time.Hour)
		}
		ctx := env.cl.log.WithContext(env.ctx)
		hc := env.cl.historyChat(ctx, conv, oldest)
		if hc == nil {
			return
		}
		bf := env.cl.backfillOf(ctx, hc)
		if bf == nil {
			return
		}
		if bf.Portal != hc.portal || len(bf.Messages) == 0 || len(bf.Messages) > env.conn.cfg.HistorySync.MaxMessagesPerChat {
			t.Fatalf("backfill for %s: %+v", hc.portal, bf.Meta)
		}
		for _, msg := range bf.Messages {
			if msg.Portal != hc.portal {
				t.Fatalf("message %s of %s in the backfill of %s", msg.ID, msg.Portal, hc.portal)
			}
			fetchParts(t, ctx, msg)
		}
	})
}
