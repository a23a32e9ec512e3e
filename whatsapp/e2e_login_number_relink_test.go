package whatsapp

import (
	"strings"
	"testing"
)

// TestSimLoginByNumberOfALinkedAccountSaysItReplacesTheLink: Alice has
// linked her phone; `login whatsapp +<her number>` answers with the code
// and, in the same notice, that the new link replaces the earlier one.
// She cancels, and the earlier link goes on.
func TestSimLoginByNumberOfALinkedAccountSaysItReplacesTheLink(t *testing.T) {
	s := newSimScene(t)
	first := loginCommand(t, s.h, s.alice, s.mgmt, "login whatsapp +49 151 00000001", "Your code: **").Content.AsMessage().Body
	if !strings.Contains(first, "+4915100000001 is linked to Ferry already: this link replaces the earlier one") {
		t.Errorf("the login's first answer %q does not say the earlier link will be replaced", first)
	}
	s.h.Command(s.alice, s.mgmt, "cancel", "Login cancelled.")
	s.h.Command(s.alice, s.mgmt, "status", "+4915100000001: connected")
}
