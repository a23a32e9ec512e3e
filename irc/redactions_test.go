package irc

import (
	"context"
	"testing"

	"gopkg.in/irc.v4"

	"github.com/ferrybridge/ferry/bridge/network"
)

// redactServer answers labeled REDACTs: msgid "forbidden" with FAIL,
// "gone" with 403 (as Ergo does for a channel that is gone), the rest
// with the server's REDACT echo.
func redactServer(line string) []string {
	m, err := irc.ParseMessage(line)
	if err != nil || m.Command != "REDACT" {
		return nil
	}
	label := m.Tags["label"]
	switch m.Param(1) {
	case "forbidden":
		return []string{"@label=" + label + " :srv FAIL REDACT REDACT_FORBIDDEN " + m.Param(0) + " forbidden :You are not allowed to delete that message"}
	case "gone": // Ergo, for a channel that is gone
		return []string{"@label=" + label + " :srv 403 me " + m.Param(0) + " :No such channel"}
	}
	return []string{"@label=" + label + " :me!u@h REDACT " + m.Param(0) + " " + m.Param(1)}
}

// TestRedactOutgoing: exact REDACT lines where the server offers
// draft/message-redaction, its refusal (FAIL or a numeric) reported, and
// a UserError where it does not (InspIRCd 3) or the message has no msgid.
func TestRedactOutgoing(t *testing.T) {
	ctx := context.Background()
	cl, _ := channelClient(t, "bob")
	conn, lines := scriptedConn(t, "draft/message-redaction labeled-response batch message-tags", redactServer)
	cl.conn = conn
	if !conn.HasCap(capRedaction) {
		t.Fatalf("caps %v", conn.Caps())
	}
	redact := func(id network.MessageID) error {
		return cl.Redact(ctx, &network.OutgoingRedaction{OutgoingMeta: network.OutgoingMeta{Portal: chanPortal}, Target: id})
	}
	if err := redact("id:m-1"); err != nil {
		t.Fatal(err)
	}
	if got := nextLine(t, lines); got != "@label=f1 REDACT #c m-1" {
		t.Errorf("sent %q", got)
	}
	err := redact("id:forbidden")
	if msg := network.UserMessage(err, ""); msg != "test refused to delete the message: You are not allowed to delete that message" {
		t.Errorf("refusal: %v", err)
	}
	nextLine(t, lines)
	err = redact("id:gone")
	if msg := network.UserMessage(err, ""); msg != "test refused to delete the message: No such channel" {
		t.Errorf("refused by a numeric: %v", err)
	}
	nextLine(t, lines)
	relayed := &network.OutgoingRedaction{OutgoingMeta: network.OutgoingMeta{Portal: chanPortal, Relay: &network.RelaySender{DisplayName: "dave"}}, Target: "id:m-1"}
	if msg := network.UserMessage(cl.Redact(ctx, relayed), ""); msg != "deleting messages is not relayed to IRC" {
		t.Errorf("relayed: %q", msg)
	}
	for _, id := range []network.MessageID{"h:abc", "f:123", "id:a;b", "id:"} {
		if msg := network.UserMessage(redact(id), ""); msg != "this message cannot be deleted on IRC" {
			t.Errorf("%q: %q", id, msg)
		}
	}

	cl2, _ := channelClient(t, "bob")
	conn2, lines2 := scriptedConn(t, "message-tags", nil)
	cl2.conn = conn2
	err = cl2.Redact(ctx, &network.OutgoingRedaction{OutgoingMeta: network.OutgoingMeta{Portal: chanPortal}, Target: "id:m-1"})
	if msg := network.UserMessage(err, ""); msg != "deleting messages is not supported on this IRC network" {
		t.Errorf("without the cap: %v", err)
	}
	_ = conn2.Send(&irc.Message{Command: "PING", Params: []string{"end"}})
	if got := nextLine(t, lines2); got != "PING end" {
		t.Errorf("without the cap something was sent: %q", got)
	}

	// Without labeled-response the line goes out unlabeled.
	cl3, _ := channelClient(t, "bob")
	conn3, lines3 := scriptedConn(t, "draft/message-redaction", nil)
	cl3.conn = conn3
	if err = cl3.Redact(ctx, &network.OutgoingRedaction{OutgoingMeta: network.OutgoingMeta{Portal: chanPortal}, Target: "id:m-2"}); err != nil {
		t.Fatal(err)
	}
	if got := nextLine(t, lines3); got != "REDACT #c m-2" {
		t.Errorf("sent %q", got)
	}
}

// TestRedactIncoming: REDACT from IRC deletes the message by msgid; our
// own echo and bad msgids are dropped.
func TestRedactIncoming(t *testing.T) {
	cl, host := channelClient(t, "bob")
	cl.handle(tagmsg(t, `:bob!b@h REDACT #c m1 :oops`))
	cl.handle(tagmsg(t, `:bob!b@h REDACT #c m2`))
	for _, bad := range []string{
		`:me!m@h REDACT #c m3`,
		`:bob!b@h REDACT #c`,
		`:bob!b@h REDACT #other m4`,
		`:bob!b@h REDACT #c a\sb`,
	} {
		cl.handle(tagmsg(t, bad))
	}
	events := host.take()
	if len(events) != 2 {
		t.Fatalf("got %d events: %#v", len(events), events)
	}
	for i, want := range []network.MessageID{"id:m1", "id:m2"} {
		r, ok := events[i].(*network.Redaction)
		if !ok || r.Target != want || r.Portal != chanPortal || r.Sender.User != "test/bob" {
			t.Errorf("event %d: %#v", i, events[i])
		}
	}
}
