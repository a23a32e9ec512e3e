package irc

import (
	"strings"
	"testing"

	"github.com/rs/zerolog"
	"maunium.net/go/mautrix/event"

	"github.com/ferrybridge/ferry/bridge/network"
)

// notices returns the notices among events.
func notices(t *testing.T, events []network.Event) []*network.Message {
	t.Helper()
	var out []*network.Message
	for _, evt := range events {
		msg, ok := evt.(*network.Message)
		if !ok {
			t.Fatalf("unexpected event %T", evt)
		}
		if len(msg.Parts) != 1 || msg.Parts[0].Content.MsgType != event.MsgNotice {
			t.Fatalf("not a notice: %+v", msg)
		}
		out = append(out, msg)
	}
	return out
}

// Without labeled-response a server's refusal of what Ferry sent for the
// user is the only sign it was lost: it is logged with its fields and
// told, as a notice, in the room concerned (the channel's, or the PM's
// with the nick), not creating one.
func TestUnlabeledRefusalIsNoticedInItsPortal(t *testing.T) {
	for _, tc := range []struct {
		name, line   string
		portal       func(cl *Client) network.PortalKey
		sender, text string
	}{
		{"404 cannot send to channel", ":srv.test 404 me #c :Cannot send to channel (+m)",
			func(cl *Client) network.PortalKey { return cl.channelKey("#c") }, "test/srv.test", "Cannot send to channel (+m)"},
		{"482 not channel operator", ":srv.test 482 me #c :You're not a channel operator",
			func(cl *Client) network.PortalKey { return cl.channelKey("#c") }, "test/srv.test", "You're not a channel operator"},
		{"401 no such nick", ":srv.test 401 me Bob :No such nick/channel",
			func(cl *Client) network.PortalKey { return cl.currentPMKey("bob") }, "test/bob", "No such nick/channel"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cl, host := channelClient(t, "bob")
			var logged strings.Builder
			cl.log = zerolog.New(&logged)
			cl.handle(line(t, tc.line))
			got := notices(t, host.take())
			if len(got) != 1 {
				t.Fatalf("%d notices, want 1", len(got))
			}
			n := got[0]
			if want := tc.portal(cl); n.Portal != want {
				t.Errorf("notice in %v, want %v", n.Portal, want)
			}
			if n.Sender.User != network.UserID(tc.sender) {
				t.Errorf("notice from %q, want %q", n.Sender.User, tc.sender)
			}
			if n.CreatePortal {
				t.Error("a refusal notice may create a room")
			}
			if !strings.Contains(n.Parts[0].Content.Body, tc.text) {
				t.Errorf("notice %q does not give the server's reason", n.Parts[0].Content.Body)
			}
			if numeric := strings.Fields(tc.line)[1]; !strings.Contains(logged.String(), `"numeric":"`+numeric+`"`) {
				t.Errorf("no log line with the numeric: %q", logged.String())
			}
		})
	}
}

// A refusal repeated at once (one per line of a multi-line message) is
// one notice: the notices share an ID, which the core bridges once.
func TestRepeatedRefusalIsOneNotice(t *testing.T) {
	cl, host := channelClient(t)
	for i := 0; i < 3; i++ {
		cl.handle(line(t, "@time=2024-05-01T10:00:00.000Z :srv.test 404 me #c :Cannot send to channel"))
	}
	got := notices(t, host.take())
	if len(got) != 3 {
		t.Fatalf("%d notices queued, want 3 (with one ID)", len(got))
	}
	for _, n := range got[1:] {
		if n.ID != got[0].ID {
			t.Fatalf("repeated refusal has IDs %q and %q", got[0].ID, n.ID)
		}
	}
}

// With labeled-response, a refusal answers the labeled send, which
// reports it to Matrix (the reply reaches the handler too): no notice, so
// that the user is not told twice.
func TestLabeledRefusalIsNotNoticed(t *testing.T) {
	cl, host := channelClient(t, "bob")
	cl.handle(line(t, "@label=f1 :srv.test 404 me #c :Cannot send to channel (+m)"))
	cl.handle(line(t, "@label=f2 BATCH +b1 labeled-response"))
	cl.handle(line(t, "@batch=b1 :srv.test 401 me bob :No such nick/channel"))
	cl.handle(line(t, "BATCH -b1"))
	cl.handle(line(t, "@label=f3 :srv.test FAIL REDACT REDACT_FORBIDDEN #c m1 :You are not authorised to delete this message"))
	if evts := host.take(); len(evts) != 0 {
		t.Fatalf("labeled refusals noticed: %+v", evts)
	}
}

// A 442 for a channel we are leaving is our PART crossing the channel's
// end, not a loss worth a notice in the room being left.
func TestNotOnChannelWhileLeavingIsNotNoticed(t *testing.T) {
	cl, host := channelClient(t)
	cl.parting["#c"] = true
	cl.handle(line(t, ":srv.test 442 me #c :You're not on that channel"))
	if evts := host.take(); len(evts) != 0 {
		t.Fatalf("noticed: %+v", evts)
	}
}

// TestRefusalNoticesRead: a refusal notice says what came to nothing and
// who refused it, with the server's words quoted once, the same way for
// a line to a channel or a nick and for a change; words from outside (a
// nick, the server's reason) show as written, not as Markdown.
func TestRefusalNoticesRead(t *testing.T) {
	for _, tc := range []struct{ line, want string }{
		{":srv.test 404 me #c :Cannot send to channel (+m)",
			`⚠️ What me sent to #c did not arrive: test refused it, saying "Cannot send to channel (+m)"`},
		{":srv.test 716 me bob :is in +g mode (server-side ignore).",
			`⚠️ What me sent to bob did not arrive: test refused it, saying "is in +g mode (server-side ignore)."`},
		{":srv.test 531 me bob :You cannot send messages to this user",
			`⚠️ What me sent to bob did not arrive: test refused it, saying "You cannot send messages to this user"`},
		{":srv.test 482 me #c :You're not a channel operator",
			`⚠️ me's change in #c was not made: test refused it, saying "You're not a channel operator"`},
		{":srv.test 401 me _bob_ :No such ~~nick~~ *here*",
			`⚠️ What me sent to _bob_ did not arrive: test refused it, saying "No such ~~nick~~ *here*"`},
	} {
		cl, host := channelClient(t, "bob", "_bob_")
		cl.handle(line(t, tc.line))
		got := notices(t, host.take())
		if len(got) != 1 {
			t.Fatalf("%q: %d notices, want 1", tc.line, len(got))
		}
		c := got[0].Parts[0].Content
		if c.Body != tc.want {
			t.Errorf("%q is told as\n%q, want\n%q", tc.line, c.Body, tc.want)
		}
		if strings.Contains(c.FormattedBody, "<del>") || strings.Contains(c.FormattedBody, "<em>") {
			t.Errorf("%q is told with the server's words as Markdown: %q", tc.line, c.FormattedBody)
		}
	}
}
