package whatsapp

import (
	"context"
	"fmt"
	"testing"

	"github.com/rs/zerolog"
	"go.mau.fi/whatsmeow/proto/waAdv"
	"go.mau.fi/whatsmeow/types"

	"github.com/ferrybridge/ferry/internal/hammer"
)

// Ferry reads a contact's names while whatsmeow stores the push name the
// same message brought, on a goroutine of its own. whatsmeow's own store
// copies the entry outside its lock; the device's contact store, as Ferry
// makes its client, must not. This test fails under the race detector
// (the suite runs with -race) when the two are not kept apart.
func TestContactReadsDoNotRaceNewPushNames(t *testing.T) {
	ctx := context.Background()
	container := newWhatsmeowStore(t)
	device := container.NewDevice()
	me := types.NewJID("4915100000001", types.DefaultUserServer)
	device.ID = &me
	device.Account = &waAdv.ADVSignedDeviceIdentity{
		Details: []byte("d"), AccountSignature: make([]byte, 64), AccountSignatureKey: make([]byte, 32), DeviceSignature: make([]byte, 64),
	}
	if err := device.Save(ctx); err != nil {
		t.Fatal(err)
	}
	(&Connector{}).newWAClient(device, zerolog.Nop())

	bob := types.NewJID("4915100000002", types.DefaultUserServer)
	if _, _, err := device.Contacts.PutPushName(ctx, bob, "Bob"); err != nil {
		t.Fatal(err)
	}
	stop := hammer.Start(2, func() {
		if _, err := device.Contacts.GetContact(ctx, bob); err != nil {
			t.Error(err)
		}
	})
	for i := range 200 {
		if _, _, err := device.Contacts.PutPushName(ctx, bob, fmt.Sprintf("Bob %d", i)); err != nil {
			t.Fatal(err)
		}
	}
	stop()
	if info, err := device.Contacts.GetContact(ctx, bob); err != nil || info.PushName != "Bob 199" {
		t.Errorf("bob's contact = %+v (%v); want the last push name", info, err)
	}
}
