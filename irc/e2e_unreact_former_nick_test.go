package irc

import (
	"strings"
	"testing"
	"time"

	"gopkg.in/irc.v4"
	"maunium.net/go/mautrix/event"

	"github.com/ferrybridge/ferry/internal/testbed"
)

// TestE2EUnreactFromAFormerNick: alice reacts from Matrix to bob's line
// as alice, then changes her nick to alice2. mallory takes the nick alice
// and sends +draft/unreact for her reaction: it is not his to take back,
// and it stays in the room. Then alice herself, on another client logged
// in to her account, takes the nick and the reaction back: that removal
// is hers, and her reaction goes.
//
// The test server has no services, so no accounts: alice's login is
// given the account she would have authenticated with, and the proxy in
// front of Ferry tags the lines of her other client (user "phone") with
// it, as a network with services tags them.
func TestE2EUnreactFromAFormerNick(t *testing.T) {
	ferryNickLinger.setForTest(t, 200*time.Millisecond)
	e := startEnvVia(t, testbed.InspIRCdOptions{}, "", func(addr string) string {
		proxy := newHoldProxy(t, addr)
		proxy.rewrite = withAccount("phone", "AliceAcct")
		return proxy.addr
	})
	sc := e.bobAliceAndCarolInTwo(t)
	sc.aliceClient.lock.Lock()
	sc.aliceClient.meta.SASLAccount = "AliceAcct"
	sc.aliceClient.lock.Unlock()
	mallory, phone := e.peer("mallory"), e.peer("phone")
	for _, p := range []*peer{mallory, phone} {
		p.send("JOIN", "#two")
		p.expect("the JOIN", func(m *irc.Message) bool { return m.Command == "JOIN" }, nil)
	}
	r := e.aliceReactsToBob(t, sc)
	e.h.Command(sc.alice, sc.aliceMgmt, "irc nick test alice2", "You are now alice2 on test")
	time.Sleep(500 * time.Millisecond) // past the old nick's linger

	mallory.send("NICK", "alice")
	mallory.expect("his NICK", isCmd("NICK", "mallory"), nil)
	r.tagmsg(t, mallory, "+draft/unreact", "👍")
	wantReactionKept(t, sc, r.reaction, "mallory, who took her former nick")

	mallory.send("NICK", "mallory")
	mallory.expect("his NICK back", isCmd("NICK", "alice"), nil)
	phone.send("NICK", "alice")
	phone.expect("her NICK", isCmd("NICK", "phone"), nil)
	r.tagmsg(t, phone, "+draft/unreact", "👍")
	sc.alice.WaitForEvent(t, sc.room, waitLong, func(evt *event.Event) bool {
		return evt.Type == event.EventRedaction && evt.Redacts == r.reaction
	})
}

// withAccount is a holdProxy rewrite that gives the lines of the client
// whose user name holds user the account tag account.
func withAccount(user, account string) func(string) string {
	return func(line string) string {
		msg, err := irc.ParseMessage(strings.TrimRight(line, "\r\n"))
		if err != nil || msg.Prefix == nil || !strings.Contains(msg.Prefix.User, user) {
			return line
		}
		if msg.Tags == nil {
			msg.Tags = irc.Tags{}
		}
		msg.Tags["account"] = account
		return msg.String() + "\r\n"
	}
}
