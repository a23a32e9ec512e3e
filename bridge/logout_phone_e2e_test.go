package bridge_test

import (
	"testing"

	"github.com/ferrybridge/ferry/internal/ferrytest"
	"github.com/ferrybridge/ferry/internal/testnet"
)

// TestLogoutNamesAPhoneNumberAsTyped: an account that is a phone number
// (WhatsApp's "+491512345678") is named by `logout` and `reconnect` the
// way people write numbers, with spaces, dashes, dots or parentheses;
// only the whole number names it.
func TestLogoutNamesAPhoneNumberAsTyped(t *testing.T) {
	tn := testnet.New()
	h := ferrytest.Start(t, ferrytest.Options{}, tn)
	alice := h.User("alice")
	mgmt := h.ManagementRoom(alice)
	loginTest(t, h, tn, alice, mgmt, "+491512345678")
	loginTest(t, h, tn, alice, mgmt, "+441632960961")

	h.Command(alice, mgmt, "logout test +44 1632", "you have no Testnet login `+44 1632`")
	h.Command(alice, mgmt, "reconnect test (+44) 1632-960.961", "Reconnecting Testnet (+441632960961).")
	h.Command(alice, mgmt, "logout test +49 151   2345678", "Logged out of Testnet (+491512345678)")
	h.Command(alice, mgmt, "logout test +441632960961", "Logged out of Testnet (+441632960961)")
}
