package whatsapp

import (
	"context"
	"fmt"
	"testing"
	"time"

	"go.mau.fi/whatsmeow/proto/waHistorySync"
	"go.mau.fi/whatsmeow/types"
	"go.mau.fi/whatsmeow/types/events"

	"github.com/ferrybridge/ferry/bridge/network"
)

// The history of a shared group must not land below the group's newer
// messages that another login of the same bridge bridged already.

var (
	davePN  = types.NewJID("4915100000005", types.DefaultUserServer)
	daveLID = types.NewJID("500000000005", types.HiddenUserServer)
	daveDev = types.JID{User: davePN.User, Server: types.DefaultUserServer, Device: 3}
)

// loadDave loads a second login, Dave's, on env's connector: another
// Ferry user, in the same WhatsApp group as the test account.
func loadDave(t *testing.T, env *testEnv) *Client {
	t.Helper()
	device := storeDevice(t, env.conn, daveDev, daveLID)
	own := env.wa // the connector's wrap hands env the newest fake
	login := &network.Login{
		ID: loginIDOf(daveDev), User: "@dave:example.org", RemoteName: "+" + davePN.User,
		RemoteUser: network.UserID(davePN.User), Metadata: metadataOf(device),
	}
	client, err := env.conn.LoadLogin(env.ctx, login)
	env.wa = own
	if err != nil {
		t.Fatalf("LoadLogin of the second login: %v", err)
	}
	return client.(*Client)
}

// groupLive is Bob's live message id in the group, sent at.
func groupLive(id string, at time.Time) *events.Message {
	return &events.Message{
		Info:       types.MessageInfo{MessageSource: types.MessageSource{Chat: group, Sender: bobPN, IsGroup: true}, ID: id, Timestamp: at},
		RawMessage: plain("live"),
	}
}

// TestHistoryOfASharedGroupBehindAnotherLoginsMessageDoesNotSpendMaxChats:
// Dave's login bridged a live message of the group, so its room holds
// it. The test account's history of the group, all older, would land
// below it: the group gets none, and leaves its max_chats slot to the
// chats behind it.
func TestHistoryOfASharedGroupBehindAnotherLoginsMessageDoesNotSpendMaxChats(t *testing.T) {
	env := newEnv(t, sqliteDB(t), historyConfig) // max_chats: 3
	dave := loadDave(t, env)
	now := time.Now().Truncate(time.Second)
	if !dave.handleEvent(groupLive("LIVE", now)) {
		t.Fatal("Dave's live message not acknowledged")
	}
	env.waitHandled(t, 1)

	env.dispatch(historySync(waHistorySync.HistorySync_RECENT,
		conversation(group, webMsg(group, "G1", false, bobPN, now.Add(-time.Minute), plain("g1"))),
		conversation(bobPN, webMsg(bobPN, "B1", false, types.EmptyJID, now.Add(-time.Hour), plain("b1"))),
		conversation(danaPN, webMsg(danaPN, "D1", false, types.EmptyJID, now.Add(-2*time.Hour), plain("d1"))),
		conversation(carlLID, webMsg(carlLID, "C1", false, types.EmptyJID, now.Add(-3*time.Hour), plain("c1"))),
	))
	got := env.waitHandled(t, 4)
	want := fmt.Sprintf("message LIVE; backfill %s [B1]; backfill %s [D1]; backfill %s [C1]",
		chatIDOf(bobPN), chatIDOf(danaPN), chatIDOf(carlLID))
	if desc := describe(got); desc != want {
		t.Errorf("handed over:\n got %s\nwant %s", desc, want)
	}
}

// TestHistoryOfASharedGroupWaitingInTheQueueSeesAnotherLoginsNewerMessage:
// the group's history waits behind another chat's when Dave's login
// bridges a live message of the group. Dave's message holds no gate of
// this login's, so the history, handed over after it, is cut at it then.
func TestHistoryOfASharedGroupWaitingInTheQueueSeesAnotherLoginsNewerMessage(t *testing.T) {
	env := newEnv(t, sqliteDB(t), historyConfig)
	dave := loadDave(t, env)
	release := make(chan struct{})
	env.host.handleCtx = func(ctx context.Context, evt network.Event) error {
		if bf, ok := evt.(*network.Backfill); ok && bf.Portal.Chat == chatIDOf(bobPN) {
			select {
			case <-release:
			case <-ctx.Done():
				return ctx.Err()
			}
		}
		return nil
	}
	now := time.Now().Truncate(time.Second)
	env.dispatch(historySync(waHistorySync.HistorySync_RECENT,
		conversation(bobPN, webMsg(bobPN, "B1", false, types.EmptyJID, now.Add(-time.Minute), plain("b1"))),
		conversation(group,
			webMsg(group, "NEW", false, bobPN, now.Add(-5*time.Minute), plain("new")),
			webMsg(group, "OLD", false, bobPN, now.Add(-time.Hour), plain("old")),
		),
	))
	env.waitHandled(t, 1) // Bob's chat, held

	if !dave.handleEvent(groupLive("LIVE", now.Add(-10*time.Minute))) {
		t.Fatal("Dave's live message not acknowledged")
	}
	env.waitHandled(t, 2)
	close(release)
	got := env.waitHandled(t, 3)
	want := fmt.Sprintf("backfill %s [B1]; message LIVE; backfill %s [NEW]", chatIDOf(bobPN), groupPortal(group).Chat)
	if desc := describe(got); desc != want {
		t.Errorf("handed over:\n got %s\nwant %s", desc, want)
	}
}
