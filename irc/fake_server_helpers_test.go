package irc

import (
	"bufio"
	"context"
	"net"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"gopkg.in/irc.v4"
	"maunium.net/go/mautrix/event"

	"github.com/ferrybridge/ferry/bridge/network"
	"github.com/ferrybridge/ferry/irc/ircconn"
)

// oneConnServer listens on loopback and hands its first connection, with
// a reader on it, to serve, for at most 20 s; it returns the address to
// dial.
func oneConnServer(t testing.TB, serve func(nc net.Conn, br *bufio.Reader)) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		nc, err := ln.Accept()
		if err != nil {
			return
		}
		defer nc.Close()
		nc.SetDeadline(time.Now().Add(20 * time.Second))
		serve(nc, bufio.NewReader(nc))
	}()
	return ln.Addr().String()
}

// scriptedServer is a one-connection fake IRC server: it registers the
// client as "alice", offering caps (space-separated, "" for none), then
// hands every later line to answer, which may write back or hang up
// through peer. It returns the address to dial.
func scriptedServer(t testing.TB, caps string, answer func(line string, peer *scriptedPeer)) string {
	t.Helper()
	return scriptedServerISupport(t, caps, "", answer)
}

// scriptedServerISupport is scriptedServer whose 005 announces isupport
// ("" for CHANTYPES=# CASEMAPPING=rfc1459).
func scriptedServerISupport(t testing.TB, caps, isupport string, answer func(line string, peer *scriptedPeer)) string {
	t.Helper()
	return oneConnServer(t, func(nc net.Conn, br *bufio.Reader) {
		peer := &scriptedPeer{nc: nc}
		reg := registration{caps: caps, isupport: isupport, write: peer.write}
		for {
			line, err := br.ReadString('\n')
			if err != nil {
				return
			}
			line = strings.TrimRight(line, "\r\n")
			if reg.done() {
				answer(line, peer)
				continue
			}
			reg.handle(line)
		}
	})
}

// scriptedPeer is the scripted server's end of the connection.
type scriptedPeer struct{ nc net.Conn }

// write sends one line (without its CRLF) to the client.
func (p *scriptedPeer) write(line string) { _, _ = p.nc.Write([]byte(line + "\r\n")) }

// hangUp closes the connection, as a server restart or a ping timeout on
// the server's side does.
func (p *scriptedPeer) hangUp() { p.nc.Close() }

// registration is the fake server's side of CAP negotiation and
// registration: it welcomes the client once both USER and CAP END came.
type registration struct {
	caps         string
	isupport     string // the 005 tokens; "" for CHANTYPES=# CASEMAPPING=rfc1459
	write        func(string)
	user, capEnd bool
}

func (r *registration) done() bool { return r.user && r.capEnd }

func (r *registration) handle(line string) {
	switch cmd, rest, _ := strings.Cut(line, " "); cmd {
	case "CAP":
		if strings.HasPrefix(rest, "LS") {
			r.write(":srv CAP * LS :" + r.caps)
		} else if req, ok := strings.CutPrefix(rest, "REQ :"); ok {
			r.write(":srv CAP * ACK :" + req)
		} else if req, ok := strings.CutPrefix(rest, "REQ "); ok {
			r.write(":srv CAP * ACK :" + req)
		} else if rest == "END" {
			r.capEnd = true
			r.welcome()
		}
	case "USER":
		r.user = true
		r.welcome()
	}
}

func (r *registration) welcome() {
	if !r.done() {
		return
	}
	r.write(":srv 001 alice :Welcome alice!alice@host")
	isupport := r.isupport
	if isupport == "" {
		isupport = "CHANTYPES=# CASEMAPPING=rfc1459"
	}
	r.write(":srv 005 alice " + isupport + " :are supported")
	r.write(":srv 422 alice :No MOTD")
}

// clientOn is a Client logged in as alice through a connection to addr
// without flood control (see dialScripted), in channel #c.
func clientOn(t testing.TB, addr string) (*Client, *fakeHost, *ircconn.Conn) {
	t.Helper()
	return dialScripted(t, addr, ircconn.Config{Unlimited: true})
}

// dialScripted is clientOn with the connection's flood control (Rate,
// Burst, Unlimited) taken from cfg.
func dialScripted(t testing.TB, addr string, cfg ircconn.Config) (*Client, *fakeHost, *ircconn.Conn) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	host := &fakeHost{}
	c := New()
	c.host = host
	t.Cleanup(c.cancel)
	login := &network.Login{ID: "test/@alice:ex.org", User: "@alice:ex.org"}
	yes := true
	cl := newClient(c, &NetworkConfig{PMFromStrangers: &yes}, login, loginMeta{Network: "test", Nick: "alice"})
	cfg.Addr, cfg.Nick, cfg.Caps, cfg.Handler = addr, "alice", wantedCaps, cl.handle
	conn, err := ircconn.Dial(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close("bye") })
	cl.conn, cl.nick = conn, "alice"
	cl.channels["#c"] = &channelState{name: "#c", members: map[string]string{"alice": ""}, synced: true}
	c.clients[login.ID] = cl
	return cl, host, conn
}

// labelOf is the label tag of a raw line the client sent, "" if none.
func labelOf(line string) string {
	m, err := irc.ParseMessage(line)
	if err != nil {
		return ""
	}
	return m.Tags["label"]
}

// textTo is an outgoing Matrix text message from alice to chat.
func textTo(chat network.ChatID, body string) *network.OutgoingMessage {
	return &network.OutgoingMessage{
		OutgoingMeta: network.OutgoingMeta{Portal: network.PortalKey{Network: NetworkID, Chat: chat}, Sender: "@alice:ex.org"},
		Content:      &event.MessageEventContent{MsgType: event.MsgText, Body: body},
	}
}

// relayThrough makes conn the relay bot of cl's network, already in #c,
// and allows relaying there.
func relayThrough(cl *Client, conn *ircconn.Conn) {
	cl.cfg.RelayAllowed = true
	cl.c.relays[cl.netName] = &relayBot{c: cl.c, cfg: cl.cfg, netName: cl.netName, conn: conn, nick: conn.Nick(),
		channels: map[string]bool{"#c": true}, waiting: map[string]chan string{}}
}

// capListServer is a fake IRC server for any number of connections: it
// answers CAP LS with ls (the capabilities it offers, "" for none) and
// welcomes every client after USER, counting connections in conns.
type capListServer struct {
	ln    net.Listener
	ls    string
	conns atomic.Int32
}

func newCapListServer(t *testing.T, ls string) *capListServer {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &capListServer{ln: ln, ls: ls}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			nc, err := ln.Accept()
			if err != nil {
				return
			}
			s.conns.Add(1)
			t.Cleanup(func() { nc.Close() })
			go s.serve(nc)
		}
	}()
	return s
}

func (s *capListServer) serve(nc net.Conn) {
	defer nc.Close()
	br := bufio.NewReader(nc)
	write := func(l string) { _, _ = nc.Write([]byte(l + "\r\n")) }
	for {
		line, err := br.ReadString('\n')
		if err != nil {
			return
		}
		cmd, rest, _ := strings.Cut(strings.TrimRight(line, "\r\n"), " ")
		switch cmd {
		case "CAP":
			if strings.HasPrefix(rest, "LS") {
				write(":srv CAP * LS :" + s.ls)
			}
		case "USER":
			write(":srv 001 me :Welcome")
			write(":srv 422 me :No MOTD")
		case "QUIT":
			write("ERROR :Closing link")
			return
		}
	}
}
