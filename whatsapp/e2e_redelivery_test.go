package whatsapp

import (
	"context"
	"testing"
	"time"

	"github.com/rs/zerolog"
	"go.mau.fi/whatsmeow/proto/waAdv"
	"go.mau.fi/whatsmeow/proto/waE2E"
	"go.mau.fi/whatsmeow/store"
	"go.mau.fi/whatsmeow/store/sqlstore"
	"go.mau.fi/whatsmeow/store/sqlstore/upgrades"
	"google.golang.org/protobuf/proto"
	"maunium.net/go/mautrix/event"
	"maunium.net/go/mautrix/id"

	"github.com/ferrybridge/ferry/bridge/network"
	"github.com/ferrybridge/ferry/database"
	"github.com/ferrybridge/ferry/internal/ferrytest"
	"github.com/ferrybridge/ferry/internal/testbed"
)

// TestE2EMessageArrivingWhileMatrixIsDownIsBridgedOnRedelivery: the
// homeserver is unreachable while a WhatsApp message arrives. The handler
// gives up at its deadline and reports failure, so whatsmeow withholds the
// acknowledgement and keeps the decrypted message in its buffer. When the
// homeserver is back, the same stanza arrives again and is bridged once.
//
// The redelivery is WhatsApp's server's part: it keeps an unacknowledged
// message and sends the same ciphertext again when the device next
// connects. This test stands in for it by handing the very same stanza to
// the login's client a second time; the stanza itself is real Signal
// ciphertext from another whatsmeow device, so decryption, the buffer and
// the ack decision are whatsmeow's own. What no test here shows is that
// WhatsApp's servers really redeliver after a withheld ack (only a real
// phone can).
func TestE2EMessageArrivingWhileMatrixIsDownIsBridgedOnRedelivery(t *testing.T) {
	saved := handleTimeout
	t.Cleanup(func() { handleTimeout = saved })
	// The core retries a Matrix send for half an hour; the handler's
	// deadline decides when the message is left to WhatsApp instead.
	handleTimeout = 5 * time.Second

	var proxy *testbed.FaultProxy
	s := startStoredLogin(t, New(), ferrytest.Options{HomeserverVia: func(t testing.TB, dendriteURL string) string {
		proxy = testbed.NewFaultProxy(t, dendriteURL)
		return proxy.URL()
	}})
	alice, mgmt, cl := s.alice, s.mgmt, s.cl
	bob := newSender(t, bobPN, s.device)
	ts := time.Now().Add(-time.Minute).Truncate(time.Second)
	text := func(s string) *waE2E.Message { return &waE2E.Message{Conversation: proto.String(s)} }

	// A first message makes the DM room, and Alice joins it.
	receive(cl.cli, bob.stanza(t, "M0", ts, text("before")))
	room := joinPortal(t, alice, mgmt)
	ghost := ghostOf(bobPN.User)
	waitBridged(t, s.h, alice.WaitForEvent(t, room, 30*time.Second, saysText(ghost, "before")))

	proxy.Down(testbed.OutageRefuse)
	during := bob.stanza(t, "M1", ts.Add(time.Second), text("during the outage"))
	started := time.Now()
	receive(cl.cli, during)
	key := bobPN.String() + "/M1"
	cl.lock.Lock()
	failures := cl.failures[key]
	cl.lock.Unlock()
	if failures != 1 {
		t.Fatalf("while Matrix was down the handler did not report failure (failures %d): the message would have been acknowledged", failures)
	}
	if took := time.Since(started); took > handleTimeout+10*time.Second {
		t.Errorf("the failing handler took %s", took)
	}

	proxy.Up()
	handleTimeout = time.Minute // the portal may still be finishing its own retries
	receive(cl.cli, during)     // WhatsApp's redelivery after the reconnect
	cl.lock.Lock()
	_, still := cl.failures[key]
	cl.lock.Unlock()
	if still {
		t.Fatal("the redelivered message was not bridged")
	}
	receive(cl.cli, bob.stanza(t, "M2", ts.Add(2*time.Second), text("after")))
	alice.WaitForEvent(t, room, 30*time.Second, saysText(ghost, "after"))
	var bodies []string
	for _, evt := range alice.Events(room) {
		if msg := evt.Content.AsMessage(); evt.Sender == ghost && msg != nil && evt.Type == event.EventMessage {
			bodies = append(bodies, msg.Body)
		}
	}
	if len(bodies) != 3 || bodies[0] != "before" || bodies[1] != "during the outage" || bodies[2] != "after" {
		t.Errorf("room messages %q; want before, during the outage, after, each once", bodies)
	}
}

// storeE2ELogin leaves, in the stopped bridge's database, what a completed
// QR login leaves: whatsmeow's session for ownDev and the core's login row.
func storeE2ELogin(t *testing.T, h *ferrytest.Harness, user id.UserID) *store.Device {
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
	device := container.NewDevice()
	device.ID, device.LID = &ownDev, ownLID
	device.Account = &waAdv.ADVSignedDeviceIdentity{
		Details: []byte("d"), AccountSignature: make([]byte, 64), AccountSignatureKey: make([]byte, 32), DeviceSignature: make([]byte, 64),
	}
	if err = device.Save(ctx); err != nil {
		t.Fatal(err)
	}
	err = db.Logins.Put(ctx, &database.Login{Network: NetworkID, ID: ownLogin, UserMXID: user,
		RemoteName: "+" + ownPN.User, RemoteUser: network.UserID(ownPN.User), Metadata: metadataOf(device)})
	if err != nil {
		t.Fatal(err)
	}
	return device
}

// waitForLogin waits until the restarted bridge has loaded the login.
func waitForLogin(t *testing.T, conn *Connector) *Client {
	t.Helper()
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		if cl := conn.client(ownLogin); cl != nil && cl.cli != nil {
			return cl
		}
		if time.Now().After(deadline) {
			t.Fatal("the login was not loaded")
		}
	}
}
