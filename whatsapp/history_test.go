package whatsapp

import (
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"go.mau.fi/whatsmeow/proto/waCommon"
	"go.mau.fi/whatsmeow/proto/waE2E"
	"go.mau.fi/whatsmeow/proto/waHistorySync"
	"go.mau.fi/whatsmeow/proto/waWeb"
	"go.mau.fi/whatsmeow/types"
	"go.mau.fi/whatsmeow/types/events"
	"google.golang.org/protobuf/proto"

	"github.com/ferrybridge/ferry/bridge/network"
)

const historyConfig = `
history_sync:
  max_chats: 3
  max_messages_per_chat: 3
  max_age: 7d
`

var danaPN = types.NewJID("4915100000004", types.DefaultUserServer)

// webMsg is a history message as WhatsApp's phone sends it; participant
// is set for group messages of others.
func webMsg(chat types.JID, id string, fromMe bool, participant types.JID, at time.Time, msg *waE2E.Message) *waHistorySync.HistorySyncMsg {
	key := &waCommon.MessageKey{RemoteJID: proto.String(chat.String()), FromMe: proto.Bool(fromMe), ID: proto.String(id)}
	web := &waWeb.WebMessageInfo{Key: key, Message: msg, MessageTimestamp: proto.Uint64(uint64(at.Unix()))}
	if !participant.IsEmpty() {
		web.Participant = proto.String(participant.String())
	}
	return &waHistorySync.HistorySyncMsg{Message: web}
}

func plain(text string) *waE2E.Message { return &waE2E.Message{Conversation: proto.String(text)} }

func conversation(chat types.JID, msgs ...*waHistorySync.HistorySyncMsg) *waHistorySync.Conversation {
	return &waHistorySync.Conversation{ID: proto.String(chat.String()), Messages: msgs}
}

func historySync(kind waHistorySync.HistorySync_HistorySyncType, convs ...*waHistorySync.Conversation) *events.HistorySync {
	return &events.HistorySync{Data: &waHistorySync.HistorySync{SyncType: kind.Enum(), Conversations: convs}}
}

// waitHandled waits until n events were handed to HandleEvent in all.
func (env *testEnv) waitHandled(t *testing.T, n int) []network.Event {
	t.Helper()
	deadline := time.After(10 * time.Second)
	for {
		env.host.mu.Lock()
		got := append([]network.Event(nil), env.host.handled...)
		env.host.mu.Unlock()
		if len(got) >= n {
			return got
		}
		select {
		case <-env.host.seen:
		case <-deadline:
			t.Fatalf("%d events handled within 10s, want %d: %s", len(got), n, describe(got))
		}
	}
}

// describe names events briefly: "backfill <chat> [ids]" or "message <id>".
func describe(evts []network.Event) string {
	var out []string
	for _, evt := range evts {
		switch e := evt.(type) {
		case *network.Backfill:
			var ids []string
			for _, m := range e.Messages {
				ids = append(ids, string(m.ID))
			}
			out = append(out, fmt.Sprintf("backfill %s %v", e.Portal.Chat, ids))
		case *network.Message:
			out = append(out, "message "+string(e.ID))
		default:
			out = append(out, fmt.Sprintf("%T", evt))
		}
	}
	return strings.Join(out, "; ")
}

// TestHistorySyncBackfillsWithinLimits feeds a real history sync through
// the real client: recent chats first, each as one Backfill of its newest
// messages (within the limits) oldest first, with the same portals, IDs
// and senders live messages get.
func TestHistorySyncBackfillsWithinLimits(t *testing.T) {
	env := newEnv(t, sqliteDB(t), historyConfig)
	// The store knows Bob's number, but the group does not show it.
	if err := env.device.LIDs.PutLIDMapping(env.ctx, bobLID, bobPN); err != nil {
		t.Fatal(err)
	}
	now := time.Now().Truncate(time.Second)
	at := func(ago time.Duration) time.Time { return now.Add(-ago) }
	dm := conversation(bobPN,
		// Newest first, as WhatsApp sends them; one is a key distribution
		// waconv ignores, which does not count towards the limit.
		webMsg(bobPN, "B6", false, types.EmptyJID, at(1*time.Hour), &waE2E.Message{
			SenderKeyDistributionMessage: &waE2E.SenderKeyDistributionMessage{GroupID: proto.String(group.String()), AxolotlSenderKeyDistributionMessage: []byte{1}},
		}),
		webMsg(bobPN, "B5", true, types.EmptyJID, at(2*time.Hour), &waE2E.Message{ExtendedTextMessage: &waE2E.ExtendedTextMessage{
			Text: proto.String("sure"), ContextInfo: &waE2E.ContextInfo{StanzaID: proto.String("B4"), Participant: proto.String(bobPN.String()), QuotedMessage: plain("lunch?")},
		}}),
		webMsg(bobPN, "B3", false, types.EmptyJID, at(4*time.Hour), plain("b3")),
		webMsg(bobPN, "B4", false, types.EmptyJID, at(3*time.Hour), plain("lunch?")),
		webMsg(bobPN, "B2", false, types.EmptyJID, at(5*time.Hour), plain("b2")),
		webMsg(bobPN, "B1", false, types.EmptyJID, at(6*time.Hour), plain("b1")),
		webMsg(bobPN, "B0", false, types.EmptyJID, at(8*24*time.Hour), plain("too old")),
	)
	grp := conversation(group,
		webMsg(group, "G2", false, bobLID, at(30*time.Minute), plain("in the group")),
		webMsg(group, "G1", true, types.EmptyJID, at(40*time.Minute), plain("hello all")),
	)
	expired := conversation(danaPN, webMsg(danaPN, "D1", false, types.EmptyJID, at(9*24*time.Hour), plain("long ago")))
	if !env.dispatch(historySync(waHistorySync.HistorySync_INITIAL_BOOTSTRAP, dm, expired, grp)) {
		t.Fatal("history sync not acknowledged")
	}
	got := env.waitHandled(t, 2)
	time.Sleep(100 * time.Millisecond)
	if got = env.waitHandled(t, 2); len(got) != 2 {
		t.Fatalf("handled %s; want the group's and Bob's backfill only", describe(got))
	}
	type wantMsg struct {
		id     network.MessageID
		sender network.UserID
		fromMe bool
		at     time.Time
		body   string
		reply  network.MessageID
	}
	check := func(evt network.Event, portal network.PortalKey, want []wantMsg) {
		t.Helper()
		bf, ok := evt.(*network.Backfill)
		if !ok {
			t.Fatalf("got %T, want a backfill of %s", evt, portal.Chat)
		}
		last := want[len(want)-1]
		if bf.Meta != (network.Meta{Portal: portal, Sender: network.Sender{User: last.sender, FromMe: last.fromMe}, Timestamp: last.at, CreatePortal: true}) {
			t.Errorf("backfill meta %+v", bf.Meta)
		}
		if len(bf.Messages) != len(want) {
			t.Fatalf("backfill of %s: %s", portal.Chat, describe([]network.Event{bf}))
		}
		for i, w := range want {
			m := bf.Messages[i]
			wantMeta := network.Meta{Portal: portal, Sender: network.Sender{User: w.sender, FromMe: w.fromMe}, Timestamp: w.at, CreatePortal: true}
			if m.ID != w.id || m.Meta != wantMeta || len(m.Parts) != 1 || m.Parts[0].Content.Body != w.body {
				t.Errorf("message %d: %s %+v %+v; want %+v", i, m.ID, m.Meta, m.Parts, w)
			}
			if (m.ReplyTo == nil) != (w.reply == "") || (m.ReplyTo != nil && m.ReplyTo.ID != w.reply) {
				t.Errorf("message %s replies to %+v, want %q", m.ID, m.ReplyTo, w.reply)
			}
		}
	}
	// The group was active last, so it comes first; Bob's LID stays a LID
	// there although the store knows his number.
	check(got[0], groupPortal(group), []wantMsg{
		{"G1", "4915100000001", true, at(40 * time.Minute), "hello all", ""},
		{"G2", "lid-200000000002", false, at(30 * time.Minute), "in the group", ""},
	})
	check(got[1], dmPortal(bobPN), []wantMsg{
		{"B3", "4915100000002", false, at(4 * time.Hour), "b3", ""},
		{"B4", "4915100000002", false, at(3 * time.Hour), "lunch?", ""},
		{"B5", "4915100000001", true, at(2 * time.Hour), "sure", "B4"},
	})
	// History keys are stored like live ones, for later reactions.
	if key, err := env.conn.msgs.get(env.ctx, ownLogin, groupPortal(group).Chat, "G2"); err != nil || key == nil || key.Sender != bobLID {
		t.Errorf("stored key of G2: %+v, %v", key, err)
	}

	// A later blob: Bob's chat had its history, and one chat is left of
	// max_chats; Carl's (by LID, the number shown) is the more recent.
	carlPN := types.NewJID("4915100000003", types.DefaultUserServer)
	carl := conversation(carlLID, webMsg(carlLID, "C1", false, types.EmptyJID, at(10*time.Minute), plain("c1")))
	carl.PnJID = proto.String(carlPN.String())
	later := historySync(waHistorySync.HistorySync_RECENT,
		conversation(bobPN, webMsg(bobPN, "B7", false, types.EmptyJID, at(20*time.Minute), plain("b7"))),
		conversation(danaPN, webMsg(danaPN, "D2", false, types.EmptyJID, at(50*time.Minute), plain("d2"))),
		carl,
	)
	env.dispatch(later)
	got = env.waitHandled(t, 3)
	time.Sleep(100 * time.Millisecond)
	if got = env.waitHandled(t, 3); len(got) != 3 {
		t.Fatalf("handled %s", describe(got))
	}
	check(got[2], dmPortal(carlPN), []wantMsg{{"C1", "4915100000003", false, at(10 * time.Minute), "c1", ""}})

	// Other sync types carry no chat history to bridge.
	env.dispatch(historySync(waHistorySync.HistorySync_PUSH_NAME))
	if _, handled := env.host.take(); len(handled) != 3 {
		t.Errorf("handled %s", describe(handled))
	}
}

// TestLiveMessagesWaitForTheirChatsHistory holds the group's backfill in
// the core and checks that a live group message waits for it, a chat
// without pending history does not wait at all, and a waiting chat jumps
// the history queue.
func TestLiveMessagesWaitForTheirChatsHistory(t *testing.T) {
	env := newEnv(t, sqliteDB(t), historyConfig)
	release := make(chan struct{})
	var once sync.Once
	unblock := func() { once.Do(func() { close(release) }) }
	t.Cleanup(unblock) // before the connector stops, even on failure
	env.host.handle = func(evt network.Event) error {
		if bf, ok := evt.(*network.Backfill); ok && bf.Portal == groupPortal(group) {
			<-release
		}
		return nil
	}
	now := time.Now().Truncate(time.Second)
	env.dispatch(historySync(waHistorySync.HistorySync_INITIAL_BOOTSTRAP,
		conversation(group, webMsg(group, "G1", false, bobPN, now.Add(-time.Minute), plain("g1"))),
		conversation(bobPN, webMsg(bobPN, "B1", false, types.EmptyJID, now.Add(-time.Hour), plain("b1"))),
		conversation(danaPN, webMsg(danaPN, "D1", false, types.EmptyJID, now.Add(-2*time.Hour), plain("d1"))),
	))
	env.waitHandled(t, 1) // the group's backfill, held in the core

	live := func(id string, src types.MessageSource) *events.Message {
		return &events.Message{Info: types.MessageInfo{MessageSource: src, ID: id, Timestamp: now}, RawMessage: plain(id)}
	}
	acked := make(chan string, 2)
	for _, evt := range []*events.Message{
		live("LG", types.MessageSource{Chat: group, Sender: bobPN, IsGroup: true}),
		live("LD", types.MessageSource{Chat: danaPN, Sender: danaPN}),
	} {
		go func() {
			if env.dispatch(evt) {
				acked <- evt.Info.ID
			}
		}()
	}
	// Carl has no history pending: his message goes through at once.
	if !env.dispatch(live("LC", types.MessageSource{Chat: carlLID, Sender: carlLID})) {
		t.Fatal("live message of a chat without history not acknowledged")
	}
	time.Sleep(200 * time.Millisecond)
	if got := describe(env.waitHandled(t, 2)); got != "backfill "+string(groupPortal(group).Chat)+" [G1]; message LC" {
		t.Fatalf("while the group's history is in the core: %s", got)
	}
	unblock()
	got := env.waitHandled(t, 6)
	pos := map[string]int{}
	for i, evt := range got {
		switch e := evt.(type) {
		case *network.Backfill:
			pos["backfill "+string(e.Messages[0].ID)] = i
		case *network.Message:
			pos[string(e.ID)] = i
		}
	}
	// Dana's chat jumped ahead of Bob's; each live message follows its
	// chat's history.
	if !(pos["backfill G1"] < pos["LG"] && pos["backfill D1"] < pos["LD"] && pos["backfill D1"] < pos["backfill B1"]) {
		t.Errorf("order: %s", describe(got))
	}
	for range 2 {
		select {
		case <-acked:
		case <-time.After(10 * time.Second):
			t.Fatal("a held live message was never acknowledged")
		}
	}
}

// TestHistoryMaxChatsNotSpentOnChatsSeenBefore: max_chats is counted
// across WhatsApp's several history blobs, and a later blob repeats chats
// of an earlier one. Such a chat (here Bob's, the newest of the second
// blob) gets no second history and must not take the last slot from the
// new chat behind it.
func TestHistoryMaxChatsNotSpentOnChatsSeenBefore(t *testing.T) {
	env := newEnv(t, sqliteDB(t), historyConfig) // max_chats: 3
	now := time.Now().Truncate(time.Second)
	env.dispatch(historySync(waHistorySync.HistorySync_INITIAL_BOOTSTRAP,
		conversation(bobPN, webMsg(bobPN, "B1", false, types.EmptyJID, now.Add(-time.Hour), plain("b1"))),
		conversation(group, webMsg(group, "G1", false, bobPN, now.Add(-2*time.Hour), plain("g1"))),
	))
	env.waitHandled(t, 2)
	env.dispatch(historySync(waHistorySync.HistorySync_RECENT,
		conversation(bobPN, webMsg(bobPN, "B2", false, types.EmptyJID, now.Add(-time.Minute), plain("b2"))),
		conversation(danaPN, webMsg(danaPN, "D1", false, types.EmptyJID, now.Add(-3*time.Hour), plain("d1"))),
	))
	got := env.waitHandled(t, 3) // Dana's chat, the 3rd of max_chats 3
	want := fmt.Sprintf("backfill %s [B1]; backfill %s [G1]; backfill %s [D1]",
		chatIDOf(bobPN), groupPortal(group).Chat, chatIDOf(danaPN))
	if desc := describe(got); desc != want {
		t.Errorf("history handed over:\n got %s\nwant %s", desc, want)
	}
}

// TestHistoryAfterALiveMessageKeepsOnlyNewerMessages: whatsmeow
// acknowledges a history notification at once and dispatches the blob
// later, so a live message of a chat can be bridged (creating its room)
// before that chat's history comes. The core would append the history
// below the live message; only history newer than it is handed over, and
// the blob's other chats are backfilled as usual.
func TestHistoryAfterALiveMessageKeepsOnlyNewerMessages(t *testing.T) {
	env := newEnv(t, sqliteDB(t), historyConfig)
	now := time.Now().Truncate(time.Second)
	live := &events.Message{
		Info:       types.MessageInfo{MessageSource: types.MessageSource{Chat: danaPN, Sender: danaPN}, ID: "LIVE", Timestamp: now.Add(-10 * time.Minute)},
		RawMessage: plain("live"),
	}
	if !env.dispatch(live) {
		t.Fatal("live message not acknowledged")
	}
	env.waitHandled(t, 1)
	env.dispatch(historySync(waHistorySync.HistorySync_RECENT,
		conversation(danaPN,
			webMsg(danaPN, "NEW", false, types.EmptyJID, now.Add(-5*time.Minute), plain("new")),
			webMsg(danaPN, "LIVE", false, types.EmptyJID, now.Add(-10*time.Minute), plain("live")),
			webMsg(danaPN, "OLD2", false, types.EmptyJID, now.Add(-time.Hour), plain("old2")),
			webMsg(danaPN, "OLD1", false, types.EmptyJID, now.Add(-2*time.Hour), plain("old1")),
		),
		conversation(bobPN, webMsg(bobPN, "B1", false, types.EmptyJID, now.Add(-30*time.Minute), plain("b1"))),
	))
	got := env.waitHandled(t, 3)
	want := fmt.Sprintf("message LIVE; backfill %s [NEW]; backfill %s [B1]", chatIDOf(danaPN), chatIDOf(bobPN))
	if desc := describe(got); desc != want {
		t.Errorf("handed over:\n got %s\nwant %s", desc, want)
	}
}

// TestHistoryOfAChatWithALiveMessageDoesNotSpendMaxChats: a chat whose
// history is all older than a live message already bridged gets none, and
// leaves its max_chats slot to the chats behind it.
func TestHistoryOfAChatWithALiveMessageDoesNotSpendMaxChats(t *testing.T) {
	env := newEnv(t, sqliteDB(t), historyConfig) // max_chats: 3
	now := time.Now().Truncate(time.Second)
	live := &events.Message{
		Info:       types.MessageInfo{MessageSource: types.MessageSource{Chat: danaPN, Sender: danaPN}, ID: "LIVE", Timestamp: now},
		RawMessage: plain("live"),
	}
	if !env.dispatch(live) {
		t.Fatal("live message not acknowledged")
	}
	env.waitHandled(t, 1)
	env.dispatch(historySync(waHistorySync.HistorySync_RECENT,
		conversation(danaPN, webMsg(danaPN, "D1", false, types.EmptyJID, now.Add(-time.Minute), plain("d1"))),
		conversation(bobPN, webMsg(bobPN, "B1", false, types.EmptyJID, now.Add(-time.Hour), plain("b1"))),
		conversation(group, webMsg(group, "G1", false, bobPN, now.Add(-2*time.Hour), plain("g1"))),
		conversation(carlLID, webMsg(carlLID, "C1", false, types.EmptyJID, now.Add(-3*time.Hour), plain("c1"))),
	))
	got := env.waitHandled(t, 4)
	want := fmt.Sprintf("message LIVE; backfill %s [B1]; backfill %s [G1]; backfill %s [C1]",
		chatIDOf(bobPN), groupPortal(group).Chat, chatIDOf(carlLID))
	if desc := describe(got); desc != want {
		t.Errorf("handed over:\n got %s\nwant %s", desc, want)
	}
}
