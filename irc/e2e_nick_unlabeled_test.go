package irc

import (
	"testing"

	"github.com/ferrybridge/ferry/internal/testbed"
)

// TestE2ENickWithoutLabels: on a server without labeled-response, `irc
// nick` still tells the user how the server answered: the new nick, a
// nick in use, or one the server refuses (here a Q-lined one), which is
// then no longer asked for.
func TestE2ENickWithoutLabels(t *testing.T) {
	e := startEnv(t, testbed.InspIRCdOptions{
		WithoutModules: []string{"ircv3_labeledresponse"},
		ExtraConfig:    `<badnick nick="reserved*" reason="Reserved for services">` + "\n",
	})
	e.peer("bob")
	alice, mgmt, cl := e.loggedInAlice()
	e.h.Command(alice, mgmt, "irc nick test bob", "the nick bob is in use")
	e.h.Command(alice, mgmt, "irc nick test alice2", "You are now alice2 on test")
	e.h.Command(alice, mgmt, "irc nick test reservednick", "refused the nick reservednick")
	cl.lock.Lock()
	wanted := cl.meta.Nick
	cl.lock.Unlock()
	if wanted != "alice2" {
		t.Errorf("after the refusal the wanted nick is %q, want alice2", wanted)
	}
}
