package irc

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rs/zerolog"
	"gopkg.in/irc.v4"

	"github.com/ferrybridge/ferry/bridge/network"
	"github.com/ferrybridge/ferry/irc/ircconn"
)

// fakeHost records queued events and the notices to users; everything
// else is unused here.
type fakeHost struct {
	network.Host
	lock     sync.Mutex
	events   []network.Event
	logins   []network.LoginID // which login queued each of events
	moves    []portalMove      // RekeyPortal's
	notified []string          // NotifyUser's texts
}

func (h *fakeHost) NotifyUser(_ context.Context, _ network.LoginID, text string) {
	h.lock.Lock()
	defer h.lock.Unlock()
	h.notified = append(h.notified, text)
}

func (h *fakeHost) QueueEvent(login network.LoginID, evt network.Event) {
	h.lock.Lock()
	defer h.lock.Unlock()
	h.events = append(h.events, evt)
	h.logins = append(h.logins, login)
}

func (h *fakeHost) SaveLogin(context.Context, *network.Login) error { return nil }

func (h *fakeHost) Log() *zerolog.Logger { l := zerolog.Nop(); return &l }

func (h *fakeHost) take() []network.Event {
	h.lock.Lock()
	defer h.lock.Unlock()
	out := h.events
	h.events, h.logins = nil, nil
	return out
}

// channelClient is a client connected as "me" in #c with the given
// members, registered with its connector.
func channelClient(t *testing.T, members ...string) (*Client, *fakeHost) {
	host := &fakeHost{}
	c := New()
	c.host = host
	t.Cleanup(c.cancel)
	login := &network.Login{ID: "test/@me:ex.org", User: "@me:ex.org"}
	cl := newClient(c, &NetworkConfig{}, login, loginMeta{Network: "test", Nick: "me"})
	cl.nick = "me"
	ch := &channelState{name: "#c", members: map[string]string{"me": ""}, synced: true}
	for _, m := range members {
		ch.members[m] = ""
	}
	cl.channels["#c"] = ch
	c.clients[login.ID] = cl
	return cl, host
}

func line(t *testing.T, raw string) *irc.Message {
	m, err := irc.ParseMessage(raw)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func leaves(events []network.Event) (out []network.UserID) {
	for _, evt := range events {
		if m, ok := evt.(*network.Membership); ok && m.Action == network.MembershipLeave {
			out = append(out, m.Target)
		}
	}
	return out
}

func TestNetsplitReason(t *testing.T) {
	for reason, want := range map[string]bool{
		"*.net *.split": true, "hub.example.net leaf.example.org": true, "irc.a-b.net irc_c.d.org": true,
		"Quit: *.net *.split": false, "bye": false, "*.net": false, "a.net b.net c.net": false,
		"Ping timeout: 120 seconds": false, "see you.later all": false, "": false,
	} {
		if got := isNetsplitReason(reason); got != want {
			t.Errorf("isNetsplitReason(%q) = %v", reason, got)
		}
	}
}

// TestNetsplitDebounce: split QUITs are held for netsplitWindow; who
// rejoins within it causes no leave and no join, the rest leave together
// when it ends. An ordinary QUIT leaves at once.
func TestNetsplitDebounce(t *testing.T) {
	netsplitWindow.setForTest(t, 200*time.Millisecond)
	cl, host := channelClient(t, "bob", "carol", "dave")

	cl.handle(line(t, ":dave!d@h QUIT :Quit: bye"))
	if got := leaves(host.take()); len(got) != 1 || got[0] != "test/dave" {
		t.Fatalf("an ordinary QUIT gave %v", got)
	}
	cl.handle(line(t, ":bob!b@h QUIT :*.net *.split"))
	cl.handle(line(t, ":carol!c@h QUIT :*.net *.split"))
	if got := host.take(); len(got) != 0 {
		t.Fatalf("split QUITs were bridged at once: %v", got)
	}
	cl.handle(line(t, ":bob!b@h JOIN #c"))
	if got := host.take(); len(got) != 0 {
		t.Fatalf("bob's return was bridged: %v", got)
	}
	if !cl.inChannel("#c") || cl.channels["#c"].members["bob"] != "" {
		t.Errorf("bob is not a member again")
	}
	time.Sleep(2 * netsplitWindow.get())
	if got := leaves(host.take()); len(got) != 1 || got[0] != "test/carol" {
		t.Errorf("after the window the leaves were %v, want carol's", got)
	}
	// Later, a JOIN is an ordinary join again.
	cl.handle(line(t, ":carol!c@h JOIN #c"))
	if got := host.take(); len(got) != 1 {
		t.Errorf("carol's later join gave %v", got)
	}
}

// TestWantsNick: a QUIT or NICK away from the wanted nick triggers a
// regain only while we have another nick.
func TestWantsNick(t *testing.T) {
	cl, _ := channelClient(t)
	cl.meta.Nick = "Alice[m]"
	cl.nick = "alice_"
	if !cl.wantsNick("ALICE{m}") {
		t.Errorf("the wanted nick (casefolded) was not recognized")
	}
	if cl.wantsNick("bob") {
		t.Errorf("another nick triggered a regain")
	}
	cl.nick = "alice{M}"
	if cl.wantsNick("alice[m]") {
		t.Errorf("regain asked while holding the wanted nick")
	}
}

// TestNickAnswer: what the server said to `irc nick`; a refused nick stops
// being wanted, a nick in use stays wanted.
func TestNickAnswer(t *testing.T) {
	cl, _ := channelClient(t)
	reply := func(raw string) ircconn.LabeledReply {
		return ircconn.LabeledReply{Messages: []*irc.Message{line(t, raw)}}
	}
	cl.meta.Nick = "b@d"
	if got := nickAnswer(cl, reply(":srv 432 me b@d :Erroneous Nickname"), "b@d", "me"); !strings.Contains(got, "refused") || cl.meta.Nick != "me" {
		t.Errorf("432: %q, wanted nick now %q", got, cl.meta.Nick)
	}
	cl.meta.Nick = "bob"
	if got := nickAnswer(cl, reply(":srv 433 me bob :Nickname is already in use."), "bob", "me"); !strings.Contains(got, "in use") || cl.meta.Nick != "bob" {
		t.Errorf("433: %q, wanted nick now %q", got, cl.meta.Nick)
	}
	if got := nickAnswer(cl, ircconn.LabeledReply{}, "bob", "me"); !strings.Contains(got, "Asked") {
		t.Errorf("no answer: %q", got)
	}
}

// A QUIT's message is the leave's reason as the server sent it: servers
// already mark what the client said ("Quit: bye") apart from what they
// say of a lost connection.
func TestQuitReason(t *testing.T) {
	cl, host := channelClient(t, "bob", "carol", "dave")
	for _, tc := range []struct{ line, want string }{
		{":dave!d@h QUIT :Quit: bye", "Quit: bye"},
		{":bob!b@h QUIT :Ping timeout: 240 seconds", "Ping timeout: 240 seconds"},
		{":carol!c@h QUIT", "Quit"},
	} {
		cl.handle(line(t, tc.line))
		got := host.take()
		if len(got) != 1 {
			t.Fatalf("%s gave %d events, want one leave", tc.line, len(got))
		}
		if m, ok := got[0].(*network.Membership); !ok || m.Reason != tc.want {
			t.Errorf("%s: leave %+v, want reason %q", tc.line, got[0], tc.want)
		}
	}
}

// TestNetsplitLeaveHeldBeforeOurReconnectIsDropped: a leave held for a
// netsplit when our own connection drops is not bridged after the next
// connection's member list, which says who is there now.
func TestNetsplitLeaveHeldBeforeOurReconnectIsDropped(t *testing.T) {
	netsplitWindow.setForTest(t, 300*time.Millisecond)
	addr := scriptedServer(t, "", func(string, *scriptedPeer) {})
	cl, host, conn := clientOn(t, addr)
	cl.channels["#c"].members["bob"] = ""
	cl.handle(line(t, ":bob!b@h QUIT :hub.example.net leaf.example.net"))
	cl.onDisconnected(conn) // our connection drops, we reconnect and rejoin
	cl.publish(conn)
	cl.handle(line(t, ":alice!a@h JOIN #c"))
	cl.handle(line(t, ":srv 353 alice = #c :alice bob"))
	cl.handle(line(t, ":srv 366 alice #c :End of /NAMES list."))
	time.Sleep(600 * time.Millisecond) // the split window, twice
	var sawResync bool
	for _, evt := range host.take() {
		switch e := evt.(type) {
		case *network.ChatResync:
			for _, m := range e.Info.Members.Members {
				if m.User == "test/bob" {
					sawResync = true
				}
			}
		case *network.Membership:
			if e.Target == "test/bob" && e.Action == network.MembershipLeave && sawResync {
				t.Fatalf("bob is in #c by the new connection's NAMES, yet his netsplit leave was bridged after it")
			}
		}
	}
	if !sawResync {
		t.Fatal("no resync with bob")
	}
}
