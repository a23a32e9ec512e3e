package irc

import (
	"strings"
	"testing"
	"time"

	"gopkg.in/irc.v4"
	"maunium.net/go/mautrix/event"
	"maunium.net/go/mautrix/id"

	"github.com/ferrybridge/ferry/internal/testbed"
)

// plainServers are InspIRCd setups that lack what real networks often
// lack: each leaves out modules of InspIRCdModules. Modules that need
// another one left out go with it (InspIRCd refuses to start otherwise).
var plainServers = []struct {
	name    string
	without []string
}{
	{"no echo-message", []string{"ircv3_echomessage"}},
	{"no server-time", []string{"ircv3_servertime"}},
	{"no labeled-response", []string{"ircv3_labeledresponse"}},
	{"no batch", []string{"ircv3_batch", "ircv3_labeledresponse"}},
	{"no message-tags", []string{"ircv3_ctctags", "ircv3_msgid", "ircv3_labeledresponse", "ircv3_accounttag"}},
	{"no chghost", []string{"ircv3_chghost", "chghost"}},
	{"no NAMES extensions", []string{"namesx", "uhnames"}},
	{"no msgid nor server-time", []string{"ircv3_msgid", "ircv3_servertime"}},
	{"no CAP", testbed.InspIRCdModulesNeedingCap()},
}

// TestE2EPlainServers runs the core journey against servers without one
// IRCv3 feature or another: messages both ways in a room shared by two
// Ferry logins (each line once, Ferry users' own lines never back as
// ghosts), a reply, an edit, a reaction (sent, or refused in the room),
// a PM both ways, a nick change, `irc whois` and `irc nick` and a
// reconnect.
func TestE2EPlainServers(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end test skipped in -short mode")
	}
	for _, srv := range plainServers {
		t.Run(srv.name, func(t *testing.T) {
			e := startEnv(t, testbed.InspIRCdOptions{WithoutModules: srv.without})
			t.Logf("the server offers %q", e.srv.Caps)
			plainJourney(t, e)
		})
	}
}

func plainJourney(t *testing.T, e *ircEnv) {
	ctx := e.h.Context(3 * time.Minute)
	bob := e.peer("bob")
	bob.send("JOIN", "#plain")
	bob.expect("his JOIN", isCmd("JOIN", "bob"), nil)
	alice, amgmt, acl := e.loggedInAlice()
	room := e.joinChannel(alice, amgmt, "#plain")
	carol := e.h.User("carol")
	cmgmt := e.h.ManagementRoom(carol)
	ccl := e.login(carol, cmgmt, "carol")
	e.h.Command(carol, cmgmt, "irc join test #plain", "Joining #plain")
	if got := portalInvite(t, carol, cmgmt); got != room {
		t.Fatalf("carol was invited to %s, not #plain's room %s", got, room)
	}
	carol.Join(t, room.String())
	waitFor(t, "carol to be in #plain", func() bool { return ccl.inChannel("#plain") })
	waitFor(t, "alice to be in #plain", func() bool { return acl.inChannel("#plain") })
	bobGhost := e.ghost("bob")
	alice.WaitForMembership(t, room, bobGhost, event.MembershipJoin, waitLong)

	// IRC -> Matrix, with a sensible timestamp.
	bob.send("PRIVMSG", "#plain", "hello from irc")
	bobEvt := alice.WaitForEvent(t, room, waitLong, bodyFrom(bobGhost, "hello from irc"))
	if d := time.Since(time.UnixMilli(bobEvt.Timestamp)); d < -5*time.Second || d > waitLong {
		t.Errorf("bob's line is stamped %v ago", d)
	}

	// Matrix -> IRC.
	aliceEvt := alice.SendText(t, room, "hello from matrix")
	if m := bob.expect("alice's line", isCmd("PRIVMSG", "alice"), nil); m.Param(1) != "hello from matrix" {
		t.Errorf("bob got %v", m)
	}
	long := strings.TrimSpace(strings.Repeat("lorem ipsum dolor sit amet ", 40))
	alice.SendText(t, room, long)
	var joined strings.Builder
	for joined.Len() < len(long) {
		m := bob.expect("a piece of the long line", isCmd("PRIVMSG", "alice"), nil)
		if n := len(":" + m.Prefix.String() + " PRIVMSG " + m.Param(0) + " :" + m.Param(1) + "\r\n"); n > 512 {
			t.Errorf("a piece is %d bytes on the wire", n)
		}
		joined.WriteString(m.Param(1))
	}
	if joined.String() != long {
		t.Errorf("the long line arrived as %q", joined.String())
	}

	// A reply and an edit.
	reply := &event.MessageEventContent{MsgType: event.MsgText, Body: "a reply"}
	reply.RelatesTo = &event.RelatesTo{InReplyTo: &event.InReplyTo{EventID: bobEvt.ID}}
	if _, err := alice.SendMessageEvent(ctx, room, event.EventMessage, reply); err != nil {
		t.Fatal(err)
	}
	if m := bob.expect("alice's reply", isCmd("PRIVMSG", "alice"), nil); m.Param(1) != "bob: a reply" {
		t.Errorf("the reply arrived as %q", m.Param(1))
	}
	edit := &event.MessageEventContent{MsgType: event.MsgText, Body: "* hello again",
		NewContent: &event.MessageEventContent{MsgType: event.MsgText, Body: "hello again"},
		RelatesTo:  &event.RelatesTo{Type: event.RelReplace, EventID: aliceEvt}}
	if _, err := alice.SendMessageEvent(ctx, room, event.EventMessage, edit); err != nil {
		t.Fatal(err)
	}
	if m := bob.expect("alice's edit", isCmd("PRIVMSG", "alice"), nil); m.Param(1) != "* hello again" {
		t.Errorf("the edit arrived as %q", m.Param(1))
	}

	// A reaction reaches IRC, or the room hears it could not.
	resp, err := alice.SendMessageEvent(ctx, room, event.EventReaction, &event.ReactionEventContent{
		RelatesTo: event.RelatesTo{Type: event.RelAnnotation, EventID: bobEvt.ID, Key: "👍"},
	})
	if err != nil {
		t.Fatal(err)
	}
	alice.SendText(t, room, "after the reaction")
	reacted := false
	bob.expect("the line after the reaction", func(m *irc.Message) bool {
		return isCmd("PRIVMSG", "alice")(m) && m.Param(1) == "after the reaction"
	}, func(m *irc.Message) {
		reacted = reacted || isCmd("TAGMSG", "alice")(m) && m.Tags["+draft/react"] == "👍"
	})
	if !reacted {
		alice.WaitForEvent(t, room, waitLong, func(evt *event.Event) bool {
			msg := evt.Content.AsMessage()
			return evt.Sender == e.h.BotMXID && msg != nil && msg.RelatesTo.GetReplyTo() == resp.EventID
		})
	}

	// A PM both ways.
	bob.send("PRIVMSG", "alice", "psst")
	dm := portalInvite(t, alice, amgmt, room)
	alice.Join(t, dm.String())
	alice.WaitForEvent(t, dm, waitLong, bodyFrom(bobGhost, "psst"))
	alice.SendText(t, dm, "yes?")
	if m := bob.expect("alice's answer", isCmd("PRIVMSG", "alice"), nil); m.Param(1) != "yes?" || !strings.EqualFold(m.Param(0), "bob") {
		t.Errorf("bob got %v", m)
	}

	// A nick change.
	bob.send("NICK", "bobby")
	bobbyGhost := e.ghost("bobby")
	alice.WaitForMembership(t, room, bobbyGhost, event.MembershipJoin, waitLong)
	alice.WaitForMembership(t, room, bobGhost, event.MembershipLeave, waitLong)
	bob.send("PRIVMSG", "#plain", "as bobby")
	alice.WaitForEvent(t, room, waitLong, bodyFrom(bobbyGhost, "as bobby"))

	// The commands that read the server's answer.
	if got := e.h.Command(alice, amgmt, "irc whois test bobby", "WHOIS bobby").Content.AsMessage().Body; !strings.Contains(got, "#plain") {
		t.Errorf("the WHOIS of bobby was answered %q", got)
	}
	e.h.Command(alice, amgmt, "irc nick test bobby", "the nick bobby is in use")
	e.h.Command(alice, amgmt, "irc nick test alice", "You are alice on test already")

	// A reconnect.
	reconnectByCommand(t, e, alice, amgmt, acl, bob)
	alice.SendText(t, room, "back again")
	if m := bob.expect("alice's line after the reconnect", isCmd("PRIVMSG", "alice"), nil); m.Param(1) != "back again" {
		t.Errorf("bob got %v", m)
	}
	bob.send("PRIVMSG", "#plain", "after the reconnect")
	alice.WaitForEvent(t, room, waitLong, bodyFrom(bobbyGhost, "after the reconnect"))
	carol.WaitForEvent(t, room, waitLong, bodyFrom(bobbyGhost, "after the reconnect"))

	// Each line once; Ferry users' lines never as a ghost's; alice's
	// messages once each.
	counts := map[string]int{}
	for _, evt := range alice.Events(room) {
		if evt.Type != event.EventMessage {
			continue
		}
		msg := evt.Content.AsMessage()
		switch evt.Sender {
		case bobGhost, bobbyGhost, alice.UserID:
			counts[evt.Sender.String()+" "+msg.Body]++
		case e.ghost("alice"), e.ghost("carol"):
			t.Errorf("a Ferry user's line came back as a ghost's: %s %q", evt.Sender, msg.Body)
		}
	}
	for key, n := range counts {
		if n != 1 {
			t.Errorf("%q is in the room %d times", key, n)
		}
	}
	for _, want := range []struct {
		who  id.UserID
		body string
	}{{bobGhost, "hello from irc"}, {bobbyGhost, "as bobby"}, {bobbyGhost, "after the reconnect"}} {
		if counts[want.who.String()+" "+want.body] != 1 {
			t.Errorf("%s's %q is not in the room once", want.who, want.body)
		}
	}
}

// TestE2ERelayPlainServers runs TestE2ERelay's journey (relayed lines
// through the relay bot, its refused JOIN told to the sender) against
// the servers of plainServers.
func TestE2ERelayPlainServers(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end test skipped in -short mode")
	}
	for _, srv := range plainServers {
		t.Run(srv.name, func(t *testing.T) {
			testRelay(t, startEnv(t, testbed.InspIRCdOptions{WithoutModules: srv.without}))
		})
	}
}
