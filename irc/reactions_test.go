package irc

import (
	"bufio"
	"context"
	"net"
	"strings"
	"testing"
	"time"

	"gopkg.in/irc.v4"

	"github.com/ferrybridge/ferry/bridge/network"
	"github.com/ferrybridge/ferry/irc/ircconn"
)

// scriptedConn registers a connection "me" with a loopback server that
// offers caps, and returns it with the lines the client sends afterwards;
// respond, when set, gives the server's answer to each.
func scriptedConn(t *testing.T, caps string, respond func(line string) []string) (*ircconn.Conn, <-chan string) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	lines := make(chan string, 100)
	go func() {
		nc, err := ln.Accept()
		if err != nil {
			return
		}
		defer nc.Close()
		nc.SetDeadline(time.Now().Add(20 * time.Second))
		br := bufio.NewReader(nc)
		write := func(s string) { _, _ = nc.Write([]byte(s + "\r\n")) }
		registered := false
		for {
			line, err := br.ReadString('\n')
			if err != nil {
				return
			}
			line = strings.TrimRight(line, "\r\n")
			cmd, rest, _ := strings.Cut(line, " ")
			switch {
			case registered:
				lines <- line
				if respond != nil {
					for _, r := range respond(line) {
						write(r)
					}
				}
			case cmd == "CAP" && strings.HasPrefix(rest, "LS"):
				write(":srv CAP * LS :" + caps)
			case cmd == "CAP" && strings.HasPrefix(rest, "REQ "):
				write(":srv CAP * ACK :" + strings.TrimPrefix(strings.TrimPrefix(rest, "REQ "), ":"))
			case cmd == "CAP" && rest == "END":
				registered = true
				write(":srv 001 me :Welcome")
				write(":srv 005 me CHANTYPES=# CASEMAPPING=rfc1459 :are supported")
				write(":srv 422 me :No MOTD")
			}
		}
	}()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	conn, err := ircconn.Dial(ctx, ircconn.Config{Addr: ln.Addr().String(), Nick: "me", Unlimited: true, Caps: wantedCaps})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = conn.Close("bye") })
	return conn, lines
}

func nextLine(t *testing.T, lines <-chan string) string {
	t.Helper()
	select {
	case l := <-lines:
		return l
	case <-time.After(10 * time.Second):
		t.Fatal("nothing sent")
	}
	return ""
}

var chanPortal = network.PortalKey{Network: NetworkID, Chat: "test/#c"}

// TestReactOutgoing: exact TAGMSG lines for a reaction and its removal,
// and the refusals: no message-tags, a message without msgid, bad keys.
func TestReactOutgoing(t *testing.T) {
	cl, _ := channelClient(t, "bob")
	conn, lines := scriptedConn(t, "message-tags", nil)
	cl.conn = conn
	ctx := context.Background()
	target := network.MessageRef{ID: "id:abc-123"}
	emoji, err := cl.React(ctx, &network.OutgoingReaction{OutgoingMeta: network.OutgoingMeta{Portal: chanPortal}, Target: target, Key: "👍"})
	if err != nil || emoji != "👍" {
		t.Fatalf("React: %q %v", emoji, err)
	}
	if got := nextLine(t, lines); got != "@+draft/react=👍;+draft/reply=abc-123 TAGMSG #c" {
		t.Errorf("sent %q", got)
	}
	if err = cl.Unreact(ctx, &network.OutgoingUnreaction{OutgoingMeta: network.OutgoingMeta{Portal: chanPortal}, Target: target, Emoji: "👍"}); err != nil {
		t.Fatal(err)
	}
	if got := nextLine(t, lines); got != "@+draft/reply=abc-123;+draft/unreact=👍 TAGMSG #c" {
		t.Errorf("sent %q", got)
	}
	// A text reaction with a space is escaped, not split.
	if _, err = cl.React(ctx, &network.OutgoingReaction{OutgoingMeta: network.OutgoingMeta{Portal: chanPortal}, Target: target, Key: "so good"}); err != nil {
		t.Fatal(err)
	}
	if got := nextLine(t, lines); got != `@+draft/react=so\sgood;+draft/reply=abc-123 TAGMSG #c` {
		t.Errorf("sent %q", got)
	}
	for _, tc := range []struct {
		id, key, want string
	}{
		{"h:xyz", "👍", "this message cannot be reacted to on IRC"},
		{"f:0123", "👍", "this message cannot be reacted to on IRC"},
		{"id:a b", "👍", "this message cannot be reacted to on IRC"},
		{"id:abc", "x\r\nQUIT", "cannot be sent to IRC"},
		{"id:abc", strings.Repeat("x", 65), "cannot be sent to IRC"},
		{"id:abc", "", "cannot be sent to IRC"},
	} {
		_, err := cl.React(ctx, &network.OutgoingReaction{OutgoingMeta: network.OutgoingMeta{Portal: chanPortal}, Target: network.MessageRef{ID: network.MessageID(tc.id)}, Key: tc.key})
		if msg := network.UserMessage(err, ""); !strings.Contains(msg, tc.want) {
			t.Errorf("%q %q: %v, want %q", tc.id, tc.key, err, tc.want)
		}
	}

	cl2, _ := channelClient(t, "bob")
	conn2, lines2 := scriptedConn(t, "echo-message", nil)
	cl2.conn = conn2
	_, err = cl2.React(ctx, &network.OutgoingReaction{OutgoingMeta: network.OutgoingMeta{Portal: chanPortal}, Target: target, Key: "👍"})
	if msg := network.UserMessage(err, ""); !strings.Contains(msg, "reactions are not supported") {
		t.Errorf("without message-tags: %v", err)
	}
	_ = conn2.Send(&irc.Message{Command: "PING", Params: []string{"end"}})
	if got := nextLine(t, lines2); got != "PING end" {
		t.Errorf("without message-tags something was sent: %q", got)
	}
}

func tagmsg(t *testing.T, line string) *irc.Message {
	t.Helper()
	m, err := irc.ParseMessage(line)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// TestReactIncoming: TAGMSG reactions become Reaction / ReactionRemove on
// the msgid; bad values, our own and history lines are dropped.
func TestReactIncoming(t *testing.T) {
	cl, host := channelClient(t, "bob")
	cl.handle(tagmsg(t, `@+draft/react=🎉;+draft/reply=m1 :bob!b@h TAGMSG #c`))
	cl.handle(tagmsg(t, `@+draft/unreact=🎉;+draft/reply=m1 :bob!b@h TAGMSG #c`))
	cl.handle(tagmsg(t, `@+draft/react=very\snice;+draft/reply=m2 :bob!b@h TAGMSG me`))
	for _, bad := range []string{
		`@+draft/react=x :bob!b@h TAGMSG #c`,                                               // no reply
		`@+draft/reply=m1 :bob!b@h TAGMSG #c`,                                              // nothing
		`@+draft/react=x;+draft/unreact=x;+draft/reply=m1 :bob!b@h TAGMSG #c`,              // both
		`@+draft/react=a\nb;+draft/reply=m1 :bob!b@h TAGMSG #c`,                            // control
		`@+draft/react=` + strings.Repeat("x", 65) + `;+draft/reply=m1 :bob!b@h TAGMSG #c`, // long
		`@+draft/react=x;+draft/reply=a\sb :bob!b@h TAGMSG #c`,                             // bad msgid
		`@+draft/react=x;+draft/reply=m1 :me!m@h TAGMSG #c`,                                // our echo
		`@+draft/react=x;+draft/reply=m1 :bob!b@h TAGMSG #other`,                           // not in it
		`@+draft/react=x;+draft/reply=m1 :bob!b@h TAGMSG carol`,                            // not to us
		`@+typing=active :bob!b@h TAGMSG #c`,                                               // typing
	} {
		cl.handle(tagmsg(t, bad))
	}
	events := host.take()
	if len(events) != 3 {
		t.Fatalf("got %d events: %#v", len(events), events)
	}
	r, ok := events[0].(*network.Reaction)
	if !ok || r.Portal != chanPortal || r.Sender.User != "test/bob" || r.Target.ID != "id:m1" || r.Emoji != "🎉" || r.Key != "🎉" || r.CreatePortal {
		t.Errorf("reaction %#v", events[0])
	}
	rm, ok := events[1].(*network.ReactionRemove)
	if !ok || rm.Portal != chanPortal || rm.Target.ID != "id:m1" || rm.Emoji != "🎉" {
		t.Errorf("removal %#v", events[1])
	}
	pm, ok := events[2].(*network.Reaction)
	if !ok || pm.Portal.Receiver != cl.loginID || pm.Portal.Chat != "test/bob" || pm.Key != "very nice" || pm.Target.ID != "id:m2" {
		t.Errorf("PM reaction %#v", events[2])
	}
}
