package whatsapp

import (
	"testing"
	"time"

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
	started := time.Now()
	h.Command(alice, mgmt, "login whatsapp", "Login failed: Could not reach WhatsApp (")
	if took := time.Since(started); took > 20*time.Second {
		t.Errorf("the failed login took %s", took)
	}
	h.Command(alice, mgmt, "status", "You have no logins")
	// The login is over: a new one may start.
	loginCommand(t, h, alice, mgmt, "login whatsapp", "Login failed: Could not reach WhatsApp (")
	loginCommand(t, h, alice, mgmt, "login whatsapp 0151", "usage: `login whatsapp`")
}
