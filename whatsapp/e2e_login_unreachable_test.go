package whatsapp

import (
	"testing"

	"github.com/ferrybridge/ferry/internal/ferrytest"
)

// TestE2ELoginFailsFastWithoutWhatsApp: the WhatsApp network in the real
// bridge, with a real Dendrite, on a machine that cannot reach WhatsApp:
// a login fails at once and says so, and another may start after it.
func TestE2ELoginFailsFastWithoutWhatsApp(t *testing.T) {
	h := ferrytest.Start(t, ferrytest.Options{}, New())
	alice := h.User("alice")
	mgmt := h.ManagementRoom(alice)
	h.Command(alice, mgmt, "help", "`whatsapp pm <+phone number>`")
	// It fails within the wait's time rather than hanging (how fast is
	// for benchmarks, not for a test on a shared machine).
	h.Command(alice, mgmt, "login whatsapp", "Login failed: Could not reach WhatsApp (")
	h.Command(alice, mgmt, "status", "You have no logins")
	// The login is over: a new one may start at once.
	h.Command(alice, mgmt, "login whatsapp", "Login failed: Could not reach WhatsApp (")
	h.Command(alice, mgmt, "login whatsapp 0151", "usage: `login whatsapp`")
}
