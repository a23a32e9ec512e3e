package irc

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"gopkg.in/irc.v4"
	"maunium.net/go/mautrix/event"
	"maunium.net/go/mautrix/id"

	"github.com/ferrybridge/ferry/bridge/network"
	"github.com/ferrybridge/ferry/internal/ferrytest"
	"github.com/ferrybridge/ferry/internal/testbed"
	"github.com/ferrybridge/ferry/irc/ircconn"
)

const waitLong = 30 * time.Second

// ircEnv is InspIRCd, Dendrite and Ferry with the IRC network "test".
type ircEnv struct {
	t   *testing.T
	srv *testbed.InspIRCd
	c   *Connector
	h   *ferrytest.Harness
}

func startEnv(t *testing.T, opts testbed.InspIRCdOptions) *ircEnv {
	t.Helper()
	return startEnvWith(t, opts, "")
}

// startEnvWith adds extra YAML lines (indented for the network's mapping,
// e.g. "    paste_threshold: 3\n") to the test network's config.
func startEnvWith(t *testing.T, opts testbed.InspIRCdOptions, extra string) *ircEnv {
	t.Helper()
	return startEnvVia(t, opts, extra, nil)
}

// startEnvVia is startEnvWith where Ferry dials through(InspIRCd's
// address) instead, e.g. a proxy in front of it; nil dials InspIRCd.
func startEnvVia(t *testing.T, opts testbed.InspIRCdOptions, extra string, through func(addr string) string) *ircEnv {
	t.Helper()
	if testing.Short() {
		t.Skip("end-to-end test (InspIRCd + Dendrite) skipped in -short mode")
	}
	opts.NoFlood = true
	srv := testbed.StartInspIRCd(t, opts)
	c := New()
	addr := srv.Addr
	if through != nil {
		addr = through(addr)
	}
	section := fmt.Sprintf("networks:\n  test:\n    address: %q\n    flood: unlimited\n    relay_allowed: true\n", addr) + extra
	h := ferrytest.Start(t, ferrytest.Options{Sections: map[network.NetworkID]string{NetworkID: section}}, c)
	return &ircEnv{t: t, srv: srv, c: c, h: h}
}

// loggedInAlice is the Matrix user alice with her management room, logged
// in to the test network as alice.
func (e *ircEnv) loggedInAlice() (*testbed.Client, id.RoomID, *Client) {
	e.t.Helper()
	alice := e.h.User("alice")
	mgmt := e.h.ManagementRoom(alice)
	return alice, mgmt, e.login(alice, mgmt, "alice")
}

// login logs user in with nick ("": the nick template's) and waits until
// the IRC connection is up.
func (e *ircEnv) login(user *testbed.Client, mgmt id.RoomID, nick string) *Client {
	e.t.Helper()
	if nick == "" { // the network's nick template's
		e.h.Command(user, mgmt, "login irc test", "Logged in to IRC as")
	} else {
		e.h.Command(user, mgmt, "login irc test "+nick, "Logged in to IRC as "+nick+" on test")
	}
	loginID := makeLoginID("test", user.UserID)
	deadline := time.Now().Add(waitLong)
	for time.Now().Before(deadline) {
		e.c.lock.Lock()
		cl := e.c.clients[loginID]
		e.c.lock.Unlock()
		if cl != nil && cl.currentNick() != "" {
			return cl
		}
		time.Sleep(50 * time.Millisecond)
	}
	e.t.Fatalf("%s never connected to IRC", user.UserID)
	return nil
}

func (e *ircEnv) ghost(nick string) id.UserID {
	return e.h.Bridge.Ghosts.MXID(network.GhostKey{Network: NetworkID, User: makeUserID("test", ircconn.CaseMappingRFC1459, nick)})
}

// peer is a plain IRC client on the other side.
type peer struct {
	t    *testing.T
	conn *ircconn.Conn
	msgs chan *irc.Message
}

func (e *ircEnv) peer(nick string) *peer {
	e.t.Helper()
	p := &peer{t: e.t, msgs: make(chan *irc.Message, 10000)}
	conn, err := ircconn.Dial(context.Background(), ircconn.Config{
		Addr: e.srv.Addr, Nick: nick, Unlimited: true,
		Handler: func(m *irc.Message) {
			select {
			case p.msgs <- m:
			default:
			}
		},
	})
	if err != nil {
		e.t.Fatalf("peer %s: %v", nick, err)
	}
	p.conn = conn
	e.t.Cleanup(func() { _ = conn.Close("bye") })
	return p
}

func (p *peer) send(command string, params ...string) {
	p.t.Helper()
	if err := p.conn.Send(&irc.Message{Command: command, Params: params}); err != nil {
		p.t.Fatalf("peer send %s: %v", command, err)
	}
}

// expect returns the next message matching, failing after waitLong. Other
// messages are passed to skip (which may be nil).
func (p *peer) expect(what string, match func(*irc.Message) bool, skip func(*irc.Message)) *irc.Message {
	p.t.Helper()
	timer := time.NewTimer(waitLong)
	defer timer.Stop()
	for {
		select {
		case m := <-p.msgs:
			if match(m) {
				return m
			}
			if skip != nil {
				skip(m)
			}
		case <-timer.C:
			p.t.Fatalf("peer never received %s", what)
		}
	}
}

func isCmd(command, from string) func(*irc.Message) bool {
	return func(m *irc.Message) bool {
		return m.Command == command && m.Prefix != nil && strings.EqualFold(m.Prefix.Name, from)
	}
}

func bodyFrom(sender id.UserID, body string) func(*event.Event) bool {
	return func(evt *event.Event) bool {
		if evt.Sender != sender || evt.Type != event.EventMessage {
			return false
		}
		msg := evt.Content.AsMessage()
		return msg != nil && msg.Body == body
	}
}

// joinChannel has user join channel by command, then its portal room,
// whose ID it returns.
func (e *ircEnv) joinChannel(user *testbed.Client, mgmt id.RoomID, channel string) id.RoomID {
	e.t.Helper()
	e.h.Command(user, mgmt, "irc join test "+channel, "Joining "+channel)
	room := portalInvite(e.t, user, mgmt)
	user.Join(e.t, room.String())
	return room
}

// portalInvite waits for an invite to a room other than skip.
func portalInvite(t *testing.T, user *testbed.Client, skip ...id.RoomID) id.RoomID {
	t.Helper()
	return user.WaitForInvite(t, waitLong, func(room id.RoomID, state []*event.Event) bool {
		for _, s := range skip {
			if room == s {
				return false
			}
		}
		for _, evt := range state {
			if evt.Type == event.StateCreate {
				if typ, ok := evt.Content.Raw["type"].(string); ok && typ == string(event.RoomTypeSpace) {
					return false
				}
			}
		}
		return true
	})
}

// aliceLineWithMsgid is the next line of alice's that p gets; it must
// carry the server's msgid.
func (p *peer) aliceLineWithMsgid() *irc.Message {
	p.t.Helper()
	am := p.expect("alice's PRIVMSG", isCmd("PRIVMSG", "alice"), nil)
	if am.Tags["msgid"] == "" {
		p.t.Fatalf("alice's line reached the peer without msgid: %v", am)
	}
	return am
}

// bobsReactionReaches has bob react in #ferry to am, a line of alice's he
// got, and checks that his reaction reaches want, the Matrix message in
// room whose line he saw.
func bobsReactionReaches(t *testing.T, bob *peer, am *irc.Message, alice *testbed.Client, room id.RoomID, bobGhost id.UserID, want id.EventID) {
	t.Helper()
	if err := bob.conn.Send(&irc.Message{Tags: irc.Tags{"+draft/react": "👀", "+draft/reply": am.Tags["msgid"]}, Command: "TAGMSG", Params: []string{"#ferry"}}); err != nil {
		t.Fatal(err)
	}
	evt := alice.WaitForEvent(t, room, waitLong, func(evt *event.Event) bool {
		return evt.Sender == bobGhost && evt.Type == event.EventReaction
	})
	if got := evt.Content.AsReaction().RelatesTo.EventID; got != want {
		t.Errorf("bob's reaction reached %s, want the message whose line he saw, %s", got, want)
	}
}
