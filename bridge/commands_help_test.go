package bridge

import (
	"testing"

	"github.com/ferrybridge/ferry/bridge/network"
	"github.com/ferrybridge/ferry/internal/testnet"
)

// qrNetwork logs in as WhatsApp does: without arguments (a QR code), or
// with a phone number.
type qrNetwork struct{ *testnet.Connector }

func (qrNetwork) LoginFlows() []network.LoginFlow {
	return []network.LoginFlow{{Description: "scan a QR code"}, {Args: "+<phone number>", Description: "get a code"}}
}

// TestLoginSyntaxOfAFlowWithoutArguments: `help` and `login` showed a
// login without arguments as "`login whatsapp `", a space typed inside
// the code, read as one to type.
func TestLoginSyntaxOfAFlowWithoutArguments(t *testing.T) {
	b := &Bridge{order: []network.NetworkID{testnet.ID}, networks: map[network.NetworkID]*networkEntry{testnet.ID: {connector: qrNetwork{testnet.New()}}}}
	want := "`login test` (scan a QR code); `login test +<phone number>` (get a code)"
	if got := b.loginSyntax(); got != want {
		t.Errorf("loginSyntax() = %q, want %q", got, want)
	}
}
