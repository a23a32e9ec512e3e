package irc

import (
	"strings"
	"testing"
	"time"

	"github.com/ferrybridge/ferry/internal/ferrytest"
	"github.com/ferrybridge/ferry/internal/testbed"
)

// TestE2EWhoisLateAnswer: without labeled-response, a WHOIS of bob that
// timed out has its answer arrive late, while the next WHOIS of bob
// waits for its own. The next one answers with what the server said to
// it (bob is in #later by then), not with the late answer's lines, nor
// does the late 318 end it early.
func TestE2EWhoisLateAnswer(t *testing.T) {
	var proxy *holdProxy
	e := startEnvVia(t, testbed.InspIRCdOptions{WithoutModules: []string{"ircv3_labeledresponse"}}, "", func(addr string) string {
		proxy = newHoldProxy(t, addr)
		return proxy.addr
	})
	whoisTimeout.setForTest(t, 2*time.Second)
	bob := e.peer("bob")
	bob.send("JOIN", "#early")
	bob.expect("his JOIN", isCmd("JOIN", "bob"), nil)
	alice, mgmt, acl := e.loggedInAlice()

	// The server answers the first WHOIS at once; alice reads it late.
	proxy.hold("alice")
	e.h.Command(alice, mgmt, "irc whois test bob", "no answer from test to the WHOIS of bob")
	bob.send("JOIN", "#later")
	bob.expect("his JOIN of #later", isCmd("JOIN", "bob"), nil)
	before := ferrytest.Seen(alice, mgmt)
	alice.SendText(t, mgmt, "irc whois test bob")
	waitFor(t, "the second WHOIS to wait", func() bool {
		acl.lock.Lock()
		defer acl.lock.Unlock()
		return acl.whois != nil
	})
	time.Sleep(300 * time.Millisecond) // the WHOIS on its way to the server
	proxy.release("alice")
	got := e.h.WaitForBotNoticeExcept(alice, mgmt, "WHOIS bob", before).Content.AsMessage().Body
	if !strings.Contains(got, "#later") {
		t.Errorf("the second WHOIS of bob was answered %q, without #later", got)
	}
}
