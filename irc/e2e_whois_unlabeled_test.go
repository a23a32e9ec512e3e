package irc

import (
	"strings"
	"testing"

	"github.com/ferrybridge/ferry/internal/testbed"
)

// TestE2EWhoisWithoutLabels: `irc whois` answers on a server without
// labeled-response (Solanum, so Libera, has none), with the WHOIS lines
// of the nick asked about; a nick nobody has is answered as such, and no
// room hears of it as a PM that could not be delivered.
func TestE2EWhoisWithoutLabels(t *testing.T) {
	e := startEnv(t, testbed.InspIRCdOptions{WithoutModules: []string{"ircv3_labeledresponse"}})
	bob := e.peer("bob")
	bob.send("JOIN", "#whois")
	bob.expect("his JOIN", isCmd("JOIN", "bob"), nil)
	alice, mgmt, _ := e.loggedInAlice()
	got := e.h.Command(alice, mgmt, "irc whois test bob", "WHOIS bob").Content.AsMessage().Body
	for _, want := range []string{"#whois", "End of /WHOIS"} {
		if !strings.Contains(got, want) {
			t.Errorf("the WHOIS answer %q lacks %q", got, want)
		}
	}
	got = e.h.Command(alice, mgmt, "irc whois test nobody", "WHOIS nobody").Content.AsMessage().Body
	if !strings.Contains(got, "No such nick") {
		t.Errorf("the WHOIS of nobody was answered %q", got)
	}
}
