package irc

import (
	"context"
	"strings"
	"testing"
	"time"

	"gopkg.in/irc.v4"
	"maunium.net/go/mautrix/id"

	"github.com/ferrybridge/ferry/bridge/network"
	"github.com/ferrybridge/ferry/irc/ircconn"
)

// loginHost is a fakeHost that also records which login queued each event.
type loginHost struct {
	fakeHost
	by []network.LoginID
}

func (h *loginHost) QueueEvent(login network.LoginID, evt network.Event) {
	h.lock.Lock()
	defer h.lock.Unlock()
	h.by = append(h.by, login)
	h.events = append(h.events, evt)
}

// inChannelC is a login of nick on c's network "test", connected to a
// scripted server (which ignores what it sends) and in #c.
func inChannelC(t *testing.T, c *Connector, cfg *NetworkConfig, nick string) *Client {
	t.Helper()
	login := &network.Login{ID: network.LoginID("test/@" + nick + ":ex.org"), User: id.UserID("@" + nick + ":ex.org")}
	cl := newClient(c, cfg, login, loginMeta{Network: "test", Nick: nick})
	conn := dialTo(t, scriptedServer(t, "", func(string, *scriptedPeer) {}), cl.handle)
	cl.conn, cl.nick = conn, nick
	cl.channels["#c"] = &channelState{name: "#c", members: map[string]string{nick: ""}, synced: true}
	c.lock.Lock()
	c.clients[login.ID] = cl
	c.lock.Unlock()
	return cl
}

func dialTo(t *testing.T, addr string, handler func(*irc.Message)) *ircconn.Conn {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	conn, err := ircconn.Dial(ctx, ircconn.Config{Addr: addr, Nick: "alice", Unlimited: true, Caps: wantedCaps, Handler: handler})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close("bye") })
	return conn
}

// TestRelayRefusalOfAGoneRelayerIsToldByAnother: alice relays dave's
// message to #c, then her login goes (logged out, or stopped); the
// server's unlabeled 404 for the bot's line comes after. The refusal is
// told in #c's room through carol, also in #c, not queued as the gone
// login's (which the core refuses: the notice would be lost). While alice
// still runs, it is told through her.
func TestRelayRefusalOfAGoneRelayerIsToldByAnother(t *testing.T) {
	for _, tc := range []struct {
		name string
		gone func(alice *Client)
		want string // the login that tells the room
	}{
		{"still running", func(*Client) {}, "test/@alice:ex.org"},
		{"logged out", func(alice *Client) { _ = alice.Logout(context.Background()) }, "test/@carol:ex.org"},
		{"stopped", func(alice *Client) {
			conn := alice.currentConn()
			_ = conn.Close("bye")
			<-conn.Done()
			alice.onDisconnected(conn)
		}, "test/@carol:ex.org"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			host := &loginHost{}
			c := New()
			c.host = host
			t.Cleanup(c.cancel)
			cfg := &NetworkConfig{PMFromStrangers: new(bool), RelayAllowed: true, Flood: FloodConfig{Unlimited: true}}
			alice := inChannelC(t, c, cfg, "alice")
			inChannelC(t, c, cfg, "carol")

			relayed := make(chan *scriptedPeer, 1)
			b := &relayBot{c: c, cfg: cfg, netName: "test", nick: "ferry-relay",
				channels: map[string]bool{"#c": true}, waiting: map[string]chan string{}}
			b.conn = dialTo(t, scriptedServer(t, "", func(line string, peer *scriptedPeer) {
				if strings.HasPrefix(line, "PRIVMSG #c ") {
					relayed <- peer
				}
			}), b.handle)
			c.relays["test"] = b

			msg := textTo("test/#c", "hi")
			msg.Sender, msg.Relay = "@dave:ex.org", &network.RelaySender{DisplayName: "dave"}
			if _, err := alice.Send(context.Background(), msg); err != nil {
				t.Fatal(err)
			}
			var server *scriptedPeer
			select {
			case server = <-relayed:
			case <-time.After(10 * time.Second):
				t.Fatal("the relayed line never reached the server")
			}
			tc.gone(alice)
			server.write(":srv 404 ferry-relay #c :Cannot send to channel (+m)")

			deadline := time.Now().Add(5 * time.Second)
			for time.Now().Before(deadline) {
				host.lock.Lock()
				by, events := append([]network.LoginID(nil), host.by...), append([]network.Event(nil), host.events...)
				host.lock.Unlock()
				for i, evt := range events {
					m, ok := evt.(*network.Message)
					if !ok || !strings.Contains(m.Parts[0].Content.Body, "A relayed message in #c did not reach IRC") {
						continue
					}
					if by[i] != network.LoginID(tc.want) || m.Portal.Chat != "test/#c" {
						t.Fatalf("the refusal was told by %s in %s, want by %s in test/#c", by[i], m.Portal.Chat, tc.want)
					}
					return
				}
				time.Sleep(20 * time.Millisecond)
			}
			t.Fatal("the refusal was never told")
		})
	}
}
