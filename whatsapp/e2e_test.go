package whatsapp_test

import (
	"context"
	"encoding/json"
	"testing"

	"github.com/rs/zerolog"
	"go.mau.fi/whatsmeow/proto/waAdv"
	"go.mau.fi/whatsmeow/store/sqlstore"
	"go.mau.fi/whatsmeow/store/sqlstore/upgrades"
	"go.mau.fi/whatsmeow/types"

	"github.com/ferrybridge/ferry/database"
	"github.com/ferrybridge/ferry/internal/ferrytest"
	"github.com/ferrybridge/ferry/whatsapp"
)

// The WhatsApp network in the real bridge, with a real Dendrite, on a
// machine that cannot reach WhatsApp.

func TestE2ELogoutForgetsAnUnreachableLogin(t *testing.T) {
	wa := whatsapp.New()
	h := ferrytest.Start(t, ferrytest.Options{}, wa)
	alice := h.User("alice")
	mgmt := h.ManagementRoom(alice)

	// A login as a completed QR login leaves it: whatsmeow's session and
	// the core's login row.
	h.StopBridge()
	jid := types.JID{User: "4915100000001", Server: types.DefaultUserServer, Device: 12}
	withStore(t, h, func(ctx context.Context, db *database.Database, container *sqlstore.Container) {
		device := container.NewDevice()
		device.ID = &jid
		device.Account = &waAdv.ADVSignedDeviceIdentity{
			Details: []byte("d"), AccountSignature: make([]byte, 64), AccountSignatureKey: make([]byte, 32), DeviceSignature: make([]byte, 64),
		}
		if err := device.Save(ctx); err != nil {
			t.Fatal(err)
		}
		meta, _ := json.Marshal(map[string]string{"jid": jid.String()})
		err := db.Logins.Put(ctx, &database.Login{Network: "whatsapp", ID: "4915100000001", UserMXID: alice.UserID,
			RemoteName: "+4915100000001", RemoteUser: "4915100000001", Metadata: meta})
		if err != nil {
			t.Fatal(err)
		}
	})
	h.StartBridge()

	h.Command(alice, mgmt, "status", "**WhatsApp** +4915100000001")
	h.Command(alice, mgmt, "logout whatsapp", "Could not log out on WhatsApp's side")
	h.WaitForBotNotice(alice, mgmt, "Logged out of WhatsApp (+4915100000001)")
	h.Command(alice, mgmt, "status", "You have no logins")

	h.StopBridge()
	withStore(t, h, func(ctx context.Context, db *database.Database, container *sqlstore.Container) {
		if device, err := container.GetDevice(ctx, jid); err != nil || device != nil {
			t.Errorf("the WhatsApp session outlived the logout: %v, %v", device, err)
		}
	})
}

// withStore opens the stopped bridge's database and whatsmeow's store in it.
func withStore(t *testing.T, h *ferrytest.Harness, fn func(ctx context.Context, db *database.Database, container *sqlstore.Container)) {
	t.Helper()
	ctx := context.Background()
	db, err := database.Open(h.Config.Database.Type, h.Config.Database.URI, zerolog.Nop())
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if err = db.Upgrade(ctx); err != nil {
		t.Fatal(err)
	}
	container := sqlstore.NewWithWrappedDB(db.Child("whatsmeow_version", upgrades.Table, nil), nil)
	if err = container.Upgrade(ctx); err != nil {
		t.Fatal(err)
	}
	fn(ctx, db, container)
}
