package whatsapp

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"
	"go.mau.fi/whatsmeow/proto/waAdv"
	"go.mau.fi/whatsmeow/proto/waHistorySync"
	"go.mau.fi/whatsmeow/store/sqlstore"
	"go.mau.fi/whatsmeow/store/sqlstore/upgrades"
	"go.mau.fi/whatsmeow/types"
	"maunium.net/go/mautrix/event"
	"maunium.net/go/mautrix/id"

	"github.com/ferrybridge/ferry/bridge/network"
	"github.com/ferrybridge/ferry/database"
	"github.com/ferrybridge/ferry/internal/ferrytest"
)

// TestE2EHistorySyncBackfillsBeforeTheInvite runs a history sync through
// the real client of a stored login, in the real bridge with a real
// Dendrite: the DM room is created with its history, oldest first with
// the original times, and only then is the user invited.
func TestE2EHistorySyncBackfillsBeforeTheInvite(t *testing.T) {
	conn := New()
	h := ferrytest.Start(t, ferrytest.Options{Sections: map[network.NetworkID]string{NetworkID: historyConfig}}, conn)
	alice := h.User("alice")
	mgmt := h.ManagementRoom(alice)

	h.StopBridge()
	ctx := context.Background()
	db, err := database.Open(h.Config.Database.Type, h.Config.Database.URI, zerolog.Nop())
	if err != nil {
		t.Fatal(err)
	}
	if err = db.Upgrade(ctx); err != nil {
		t.Fatal(err)
	}
	container := sqlstore.NewWithWrappedDB(db.Child("whatsmeow_version", upgrades.Table, nil), nil)
	if err = container.Upgrade(ctx); err != nil {
		t.Fatal(err)
	}
	device := container.NewDevice()
	device.ID, device.LID = &ownDev, ownLID
	device.Account = &waAdv.ADVSignedDeviceIdentity{
		Details: []byte("d"), AccountSignature: make([]byte, 64), AccountSignatureKey: make([]byte, 32), DeviceSignature: make([]byte, 64),
	}
	if err = device.Save(ctx); err != nil {
		t.Fatal(err)
	}
	err = db.Logins.Put(ctx, &database.Login{Network: NetworkID, ID: ownLogin, UserMXID: alice.UserID,
		RemoteName: "+" + ownPN.User, RemoteUser: network.UserID(ownPN.User), Metadata: metadataOf(device)})
	db.Close()
	if err != nil {
		t.Fatal(err)
	}
	h.StartBridge()

	var cl *Client
	for deadline := time.Now().Add(30 * time.Second); cl == nil || cl.cli == nil; time.Sleep(50 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the login was not loaded")
		}
		cl = conn.client(ownLogin)
	}
	start := time.Now().Add(-3 * time.Hour).Truncate(time.Second)
	cl.cli.DangerousInternals().DispatchEvent(historySync(waHistorySync.HistorySync_INITIAL_BOOTSTRAP, conversation(bobPN,
		webMsg(bobPN, "B3", false, types.EmptyJID, start.Add(2*time.Minute), plain("history 3")),
		webMsg(bobPN, "B1", false, types.EmptyJID, start, plain("history 1")),
		webMsg(bobPN, "B2", true, types.EmptyJID, start.Add(time.Minute), plain("history 2")),
	)))

	room := alice.WaitForInvite(t, 60*time.Second, func(room id.RoomID, state []*event.Event) bool {
		for _, evt := range state {
			if t, _ := evt.Content.Raw["type"].(string); evt.Type == event.StateCreate && t == string(event.RoomTypeSpace) {
				return false // the user's space, not the portal
			}
		}
		return room != mgmt
	})
	alice.Join(t, room.String())
	bob := id.UserID("@whatsapp_" + bobPN.User + ":localhost")
	alice.WaitForEvent(t, room, 30*time.Second, func(evt *event.Event) bool {
		msg := evt.Content.AsMessage()
		return evt.Sender == bob && msg != nil && msg.Body == "history 3"
	})
	next, invited := 1, false
	for _, evt := range alice.Events(room) {
		if evt.Type == event.StateMember && evt.GetStateKey() == alice.UserID.String() {
			invited = true
		}
		msg := evt.Content.AsMessage()
		if evt.Type != event.EventMessage || msg == nil || !strings.HasPrefix(msg.Body, "history ") {
			continue
		}
		want := start.Add(time.Duration(next-1) * time.Minute)
		if msg.Body != "history "+string(rune('0'+next)) || evt.Timestamp != want.UnixMilli() || invited {
			t.Errorf("history message %d: %q at %d (want %d), after the invite: %v", next, msg.Body, evt.Timestamp, want.UnixMilli(), invited)
		}
		next++
	}
	if next != 4 {
		t.Errorf("%d of 3 history messages arrived", next-1)
	}
}
