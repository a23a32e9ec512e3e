package irc

import (
	"bufio"
	"context"
	"errors"
	"net"
	"strings"
	"testing"
	"time"

	"maunium.net/go/mautrix/event"

	"github.com/ferrybridge/ferry/bridge/network"
	"github.com/ferrybridge/ferry/irc/ircconn"
)

// TestSendDroppedBeforeEcho: the server confirms sends (echo-message and
// labeled-response) but the connection ends before the echo; the send is
// reported as failed, not as delivered.
func TestSendDroppedBeforeEcho(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		nc, err := ln.Accept()
		if err != nil {
			return
		}
		defer nc.Close()
		nc.SetDeadline(time.Now().Add(20 * time.Second))
		br := bufio.NewReader(nc)
		write := func(s string) { _, _ = nc.Write([]byte(s + "\r\n")) }
		user, capEnd := false, false
		welcome := func() {
			if user && capEnd {
				write(":srv 001 alice :Welcome")
				write(":srv 005 alice CHANTYPES=# CASEMAPPING=rfc1459 :are supported")
				write(":srv 422 alice :No MOTD")
			}
		}
		for {
			line, err := br.ReadString('\n')
			if err != nil {
				return
			}
			line = strings.TrimRight(line, "\r\n")
			switch cmd, rest, _ := strings.Cut(line, " "); cmd {
			case "CAP":
				if strings.HasPrefix(rest, "LS") {
					write(":srv CAP * LS :echo-message labeled-response batch")
				} else if req, ok := strings.CutPrefix(rest, "REQ :"); ok {
					write(":srv CAP * ACK :" + req)
				} else if rest == "END" {
					capEnd = true
					welcome()
				}
			case "USER":
				user = true
				welcome()
			case "PING":
				write(":srv PONG srv :" + strings.TrimPrefix(rest, ":"))
			default:
				if strings.Contains(line, "PRIVMSG") {
					return // the connection drops before the echo
				}
			}
		}
	}()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	conn, err := ircconn.Dial(ctx, ircconn.Config{Addr: ln.Addr().String(), Nick: "alice", Unlimited: true})
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close("bye")
	if !conn.HasCap("echo-message") || !conn.HasCap("labeled-response") {
		t.Fatalf("caps not negotiated")
	}
	c := New()
	c.host = &fakeHost{}
	t.Cleanup(c.cancel)
	cl := newClient(c, &NetworkConfig{}, &network.Login{ID: "test/@alice:ex.org", User: "@alice:ex.org"}, loginMeta{Network: "test", Nick: "alice"})
	cl.conn, cl.nick = conn, "alice"
	_, err = cl.Send(ctx, &network.OutgoingMessage{
		OutgoingMeta: network.OutgoingMeta{Portal: network.PortalKey{Network: NetworkID, Chat: "test/#c"}, Sender: "@alice:ex.org"},
		Content:      &event.MessageEventContent{MsgType: event.MsgText, Body: "hello"},
	})
	var ue *network.UserError
	if !errors.As(err, &ue) || !strings.Contains(ue.Message, "not sent") {
		t.Errorf("a send lost with the connection gave %v", err)
	}
}
