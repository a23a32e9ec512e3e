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

// TestSendRefusedByServerIsReportedInItsWords: with labeled-response, a
// line the server refuses (an error numeric or FAIL as the labeled reply,
// alone or in a labeled batch) fails Send with a UserError carrying the
// server's reason, for the user's own connection and for the relay bot's.
func TestSendRefusedByServerIsReportedInItsWords(t *testing.T) {
	cases := []struct {
		name    string
		portal  network.PortalKey
		relayed bool
		refuse  func(label string) []string
		reason  string
	}{
		{
			name:   "404 to a moderated channel",
			portal: network.PortalKey{Network: NetworkID, Chat: "test/#c"},
			refuse: func(label string) []string {
				return []string{"@label=" + label + " :srv 404 alice #c :Cannot send to channel (+m)"}
			},
			reason: "Cannot send to channel (+m)",
		},
		{
			name:   "401 to a nick that left",
			portal: network.PortalKey{Network: NetworkID, Chat: "test/bob", Receiver: "test/@alice:ex.org"},
			refuse: func(label string) []string {
				return []string{"@label=" + label + " :srv 401 alice bob :No such nick/channel"}
			},
			reason: "No such nick/channel",
		},
		{
			name:   "FAIL standard reply",
			portal: network.PortalKey{Network: NetworkID, Chat: "test/#c"},
			refuse: func(label string) []string {
				return []string{"@label=" + label + " :srv FAIL PRIVMSG SPAM_FILTERED #c :Your message looks like spam"}
			},
			reason: "Your message looks like spam",
		},
		{
			name:   "error numeric in a labeled batch",
			portal: network.PortalKey{Network: NetworkID, Chat: "test/#c"},
			refuse: func(label string) []string {
				return []string{
					"@label=" + label + " :srv BATCH +r labeled-response",
					"@batch=r :srv 489 alice #c :You are not allowed to speak here",
					":srv BATCH -r",
				}
			},
			reason: "You are not allowed to speak here",
		},
		{
			name:    "404 to the relay bot",
			portal:  network.PortalKey{Network: NetworkID, Chat: "test/#c"},
			relayed: true,
			refuse: func(label string) []string {
				return []string{"@label=" + label + " :srv 404 alice #c :Cannot send to channel (+m)"}
			},
			reason: "Cannot send to channel (+m)",
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			addr := scriptedServer(t, "echo-message labeled-response batch message-tags", func(line string, peer *scriptedPeer) {
				if strings.Contains(line, " PRIVMSG ") || strings.HasPrefix(line, "PRIVMSG ") {
					for _, l := range tc.refuse(labelOf(line)) {
						peer.write(l)
					}
				}
			})
			cl, _, conn := clientOn(t, addr)
			msg := textTo(tc.portal.Chat, "hello")
			msg.Portal = tc.portal
			if tc.relayed {
				relayThrough(cl, conn)
				msg.Sender, msg.Relay = "@dave:ex.org", &network.RelaySender{DisplayName: "dave"}
			}
			_, err := cl.Send(context.Background(), msg)
			var ue *network.UserError
			if !errors.As(err, &ue) {
				t.Fatalf("the server refused the message, but Send gave %v", err)
			}
			if !strings.Contains(ue.Message, "refused") || !strings.Contains(ue.Message, tc.reason) {
				t.Errorf("the user is told %q, want the server's reason %q", ue.Message, tc.reason)
			}
		})
	}
}

// TestUnansweredLabeledSendsDoNotBlockLaterSends: a server (or bouncer)
// that never answers some labeled lines, a filtered message say, must not
// use up the Conn's pending labels: more such sends than the bound (128)
// all go out, each giving up on its echo after echoTimeout.
func TestUnansweredLabeledSendsDoNotBlockLaterSends(t *testing.T) {
	old := echoTimeout
	echoTimeout = time.Millisecond
	defer func() { echoTimeout = old }()
	addr := scriptedServer(t, "echo-message labeled-response batch", func(string, *scriptedPeer) {})
	cl, _, _ := clientOn(t, addr)
	for i := 0; i < 200; i++ {
		if _, err := cl.Send(context.Background(), textTo("test/#c", "hello")); err != nil {
			t.Fatalf("send %d failed: %v", i, err)
		}
	}
}

// TestLinesLostWithTheConnectionFailTheSend: Send returns only once the
// last piece is written. When the connection drops while pieces still
// wait for flood control, those pieces are lost and Send says how many;
// the first piece's write is still reported at once (Written, Placed), so
// the portal's next message need not wait for the whole paste.
func TestLinesLostWithTheConnectionFailTheSend(t *testing.T) {
	received := make(chan string, 4)
	hangUp := make(chan struct{})
	addr := scriptedServer(t, "", func(line string, peer *scriptedPeer) {
		if strings.HasPrefix(line, "PRIVMSG ") {
			received <- line
			<-hangUp
			peer.hangUp() // a server restart, say, while two lines wait
		}
	})
	// One line a minute: the second and third pieces wait in the queue.
	cl, _, conn := dialScripted(t, addr, ircconn.Config{Rate: time.Minute, Burst: 1})
	msg := textTo("test/#c", "line one\nline two\nline three")
	placed, written := make(chan struct{}), make(chan time.Time, 1)
	msg.Placed = func() { close(placed) } // all queued, the first written
	msg.Written = func(at time.Time) { written <- at }
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	sent := make(chan error, 1)
	go func() {
		_, err := cl.Send(ctx, msg)
		sent <- err
	}()
	select {
	case <-placed:
	case <-ctx.Done():
		t.Fatal("Placed was not called once the first piece was written")
	}
	if len(written) != 1 {
		t.Error("Written was not called for the first piece")
	}
	close(hangUp)
	err := <-sent
	<-conn.Done()
	var ue *network.UserError
	if !errors.As(err, &ue) || !strings.Contains(ue.Message, "2 of the message's 3 lines were not sent") {
		t.Errorf("1 of 3 lines reached the server before it hung up, but Send gave %v", err)
	}
	if len(received) != 1 {
		t.Errorf("the server got %d lines, want the first alone", len(received))
	}
}

// TestSendReturnsOnceItsLastPieceIsWritten: a message of several pieces
// that all go out is a success, reported only after the last was written.
func TestSendReturnsOnceItsLastPieceIsWritten(t *testing.T) {
	received := make(chan string, 4)
	addr := scriptedServer(t, "", func(line string, peer *scriptedPeer) {
		if strings.HasPrefix(line, "PRIVMSG ") {
			received <- line
		}
	})
	// Two lines at once, the third 100 ms later.
	cl, _, _ := dialScripted(t, addr, ircconn.Config{Rate: 100 * time.Millisecond, Burst: 2})
	time.Sleep(300 * time.Millisecond) // let registration's tokens come back
	start := time.Now()
	res, err := cl.Send(context.Background(), textTo("test/#c", "line one\nline two\nline three"))
	if err != nil || res == nil || res.ID == "" {
		t.Fatalf("Send gave %v, %v", res, err)
	}
	if took := time.Since(start); took < 50*time.Millisecond {
		t.Errorf("Send returned after %v, before flood control let the third piece out", took)
	}
	deadline := time.After(5 * time.Second)
	for i := 0; i < 3; i++ {
		select {
		case <-received:
		case <-deadline:
			t.Fatalf("the server got %d of the 3 pieces", i)
		}
	}
}

// TestLinesPurgedByLeavingFailTheSend: pieces dropped from the queue
// because the chat was left (kick, part) end the Send at once with an
// error that counts them, rather than leave it waiting for writes that
// will never come.
func TestLinesPurgedByLeavingFailTheSend(t *testing.T) {
	addr := scriptedServer(t, "", func(string, *scriptedPeer) {})
	cl, _, conn := dialScripted(t, addr, ircconn.Config{Rate: time.Minute, Burst: 1})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	msg := textTo("test/#c", "line one\nline two\nline three")
	placed := make(chan struct{})
	msg.Placed = func() { close(placed) } // all queued, the first written
	sent := make(chan error, 1)
	go func() {
		_, err := cl.Send(ctx, msg)
		sent <- err
	}()
	select {
	case <-placed:
	case <-ctx.Done():
		t.Fatal("the message was never placed")
	}
	conn.PurgeTarget("#c") // as when we are kicked
	err := <-sent
	var ue *network.UserError
	if !errors.As(err, &ue) || !strings.Contains(ue.Message, "2 of the message's 3 lines were not sent: the chat was left") {
		t.Errorf("two pieces were purged, but Send gave %v", err)
	}
}
