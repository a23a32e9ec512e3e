package irc

import (
	"strings"
	"testing"
	"time"

	"gopkg.in/irc.v4"
	"maunium.net/go/mautrix/event"

	"github.com/ferrybridge/ferry/internal/testbed"
)

// TestE2EChannel (slow: InspIRCd + Dendrite): join by command, ghosts from
// NAMES, messages both ways with formatting, emote and notice, long-line
// splitting, injection attempts, topic, nick change and kick.
func TestE2EChannel(t *testing.T) {
	e := startEnv(t, testbed.InspIRCdOptions{})
	ctx := e.h.Context(2 * time.Minute)
	bob := e.peer("bob")
	bob.send("JOIN", "#Ferry")
	bob.expect("his JOIN", isCmd("JOIN", "bob"), nil)
	bob.send("TOPIC", "#Ferry", "the ferry channel")

	alice, mgmt, _ := e.loggedInAlice()
	room := e.joinChannel(alice, mgmt, "#Ferry")
	bobGhost := e.ghost("bob")
	alice.WaitForMembership(t, room, bobGhost, event.MembershipJoin, waitLong)
	bob.expect("alice's JOIN", isCmd("JOIN", "alice"), nil)
	var name event.RoomNameEventContent
	if err := alice.StateEvent(ctx, room, event.StateRoomName, "", &name); err != nil || name.Name != "#Ferry" {
		t.Errorf("room name %q (%v)", name.Name, err)
	}
	// bob made the channel, so he is its op: power level 50.
	var pl event.PowerLevelsEventContent
	if err := alice.StateEvent(ctx, room, event.StatePowerLevels, "", &pl); err != nil || pl.Users[bobGhost] != 50 {
		t.Errorf("bob's power level %d (%v)", pl.Users[bobGhost], err)
	}
	var topic event.TopicEventContent
	if err := alice.StateEvent(ctx, room, event.StateTopic, "", &topic); err != nil || topic.Topic != "the ferry channel" {
		t.Errorf("room topic %q (%v)", topic.Topic, err)
	}

	// IRC -> Matrix with formatting.
	bob.send("PRIVMSG", "#ferry", "\x02hello\x02 world")
	got := alice.WaitForEvent(t, room, waitLong, bodyFrom(bobGhost, "hello world"))
	if msg := got.Content.AsMessage(); !strings.Contains(msg.FormattedBody, "hello</") || msg.MsgType != event.MsgText {
		t.Errorf("formatting lost: %+v", msg)
	}
	bob.send("PRIVMSG", "#ferry", "\x01ACTION waves\x01")
	if msg := alice.WaitForEvent(t, room, waitLong, bodyFrom(bobGhost, "waves")).Content.AsMessage(); msg.MsgType != event.MsgEmote {
		t.Errorf("ACTION became %s", msg.MsgType)
	}

	// Matrix -> IRC: text, emote, notice.
	alice.SendText(t, room, "hi bob")
	if m := bob.expect("alice's PRIVMSG", isCmd("PRIVMSG", "alice"), nil); m.Param(1) != "hi bob" || !strings.EqualFold(m.Param(0), "#ferry") {
		t.Errorf("bob got %v", m)
	}
	if _, err := alice.SendMessageEvent(ctx, room, event.EventMessage, &event.MessageEventContent{MsgType: event.MsgEmote, Body: "smiles"}); err != nil {
		t.Fatal(err)
	}
	if m := bob.expect("alice's ACTION", isCmd("PRIVMSG", "alice"), nil); m.Param(1) != "\x01ACTION smiles\x01" {
		t.Errorf("emote arrived as %q", m.Param(1))
	}
	if _, err := alice.SendMessageEvent(ctx, room, event.EventMessage, &event.MessageEventContent{MsgType: event.MsgNotice, Body: "a notice"}); err != nil {
		t.Fatal(err)
	}
	if m := bob.expect("alice's NOTICE", isCmd("NOTICE", "alice"), nil); m.Param(1) != "a notice" {
		t.Errorf("notice arrived as %q", m.Param(1))
	}

	// A long message: several PRIVMSGs within 512 bytes, nothing lost.
	long := strings.Repeat("lorem ipsum dolor sit amet ", 60)
	long = strings.TrimSpace(long)
	alice.SendText(t, room, long)
	var joined strings.Builder
	pieces := 0
	for joined.Len() < len(long) {
		m := bob.expect("a piece of the long message", isCmd("PRIVMSG", "alice"), nil)
		if n := len(":" + m.Prefix.String() + " PRIVMSG " + m.Param(0) + " :" + m.Param(1) + "\r\n"); n > 512 {
			t.Errorf("a piece is %d bytes on the wire", n)
		}
		joined.WriteString(m.Param(1))
		pieces++
	}
	if joined.String() != long || pieces < 2 {
		t.Errorf("long message arrived in %d pieces as %q", pieces, joined.String())
	}

	// Injection attempts reach IRC only as chat text.
	// A lone CR is dropped (Matrix breaks lines with LF), never a line end.
	alice.SendText(t, room, "one\r\nQUIT :x\nJOIN #a,0\n\x01VERSION\x01 two\rPART #ferry")
	alice.SendText(t, room, "end of injection")
	var texts []string
	bob.expect("the end marker", func(m *irc.Message) bool {
		return isCmd("PRIVMSG", "alice")(m) && m.Param(1) == "end of injection"
	}, func(m *irc.Message) {
		if m.Prefix != nil && strings.EqualFold(m.Prefix.Name, "alice") {
			if m.Command != "PRIVMSG" || !strings.EqualFold(m.Param(0), "#ferry") || strings.Contains(m.Param(1), "\x01") {
				t.Errorf("injection reached IRC as %v", m)
			}
			texts = append(texts, m.Param(1))
		}
	})
	if strings.Join(texts, "|") != "one|QUIT :x|JOIN #a,0|VERSION twoPART #ferry" {
		t.Errorf("injected lines arrived as %q", texts)
	}

	// Topic and nick change.
	bob.send("TOPIC", "#ferry", "new topic")
	alice.WaitForEvent(t, room, waitLong, func(evt *event.Event) bool {
		return evt.Type == event.StateTopic && evt.Content.AsTopic().Topic == "new topic"
	})
	bob.send("NICK", "bobby")
	alice.WaitForMembership(t, room, e.ghost("bobby"), event.MembershipJoin, waitLong)
	alice.WaitForMembership(t, room, bobGhost, event.MembershipLeave, waitLong)

	// Op on IRC makes alice a moderator in Matrix; her topic change in the
	// room then reaches IRC as a TOPIC of hers.
	bob.send("MODE", "#ferry", "+o", "alice")
	alice.WaitForEvent(t, room, waitLong, func(evt *event.Event) bool {
		pl, ok := evt.Content.Parsed.(*event.PowerLevelsEventContent)
		return evt.Type == event.StatePowerLevels && ok && pl.GetUserLevel(alice.UserID) >= 50
	})
	if _, err := alice.SendStateEvent(ctx, room, event.StateTopic, "", &event.TopicEventContent{Topic: "set from Matrix"}); err != nil {
		t.Fatal(err)
	}
	if m := bob.expect("alice's TOPIC", isCmd("TOPIC", "alice"), nil); m.Param(1) != "set from Matrix" {
		t.Errorf("bob saw topic %q", m.Param(1))
	}

	// A kick on IRC removes alice from the room with the reason.
	bob.send("KICK", "#ferry", "alice", "behave")
	left := alice.WaitForMembership(t, room, alice.UserID, event.MembershipLeave, waitLong)
	if reason := left.Content.AsMember().Reason; !strings.Contains(reason, "behave") {
		t.Errorf("kick reason %q", reason)
	}
}

// TestE2EAliasAndTwoUsers (slow): join by alias (mixed case too), two
// Ferry users in one channel: each IRC line bridged once, and one Ferry
// user's line never comes back as a ghost message.
func TestE2EAliasAndTwoUsers(t *testing.T) {
	e := startEnv(t, testbed.InspIRCdOptions{})
	bob := e.peer("bob")
	bob.send("JOIN", "#Lobby")
	bob.expect("his JOIN", isCmd("JOIN", "bob"), nil)

	alice, carol := e.h.User("alice"), e.h.User("carol")
	e.login(alice, e.h.ManagementRoom(alice), "alice")
	e.login(carol, e.h.ManagementRoom(carol), "carol")
	room := alice.Join(t, "#irc_test_#lobby:localhost")
	bob.expect("alice's JOIN", isCmd("JOIN", "alice"), nil)
	if again := alice.Join(t, "#irc_test_#LOBBY:localhost"); again != room {
		t.Errorf("mixed-case alias gave %s, want %s", again, room)
	}
	if r := carol.Join(t, "#irc_test_#Lobby:localhost"); r != room {
		t.Fatalf("carol joined %s, want %s", r, room)
	}
	bob.expect("carol's JOIN", isCmd("JOIN", "carol"), nil)
	bobGhost := e.ghost("bob")
	alice.WaitForMembership(t, room, bobGhost, event.MembershipJoin, waitLong)

	bob.send("PRIVMSG", "#lobby", "hello both")
	alice.SendText(t, room, "from alice")
	bob.expect("alice's line", isCmd("PRIVMSG", "alice"), nil)
	bob.send("PRIVMSG", "#lobby", "marker")
	alice.WaitForEvent(t, room, waitLong, bodyFrom(bobGhost, "marker"))
	carol.WaitForEvent(t, room, waitLong, bodyFrom(bobGhost, "marker"))
	count := 0
	for _, evt := range alice.Events(room) {
		if bodyFrom(bobGhost, "hello both")(evt) {
			count++
		}
		if evt.Sender == e.ghost("alice") || evt.Sender == e.ghost("carol") {
			t.Errorf("a Ferry user's nick became a ghost event: %s %v", evt.Type, evt.Content.Raw)
		}
	}
	if count != 1 {
		t.Errorf("bob's line was bridged %d times", count)
	}
	// Nick mentions become pills: Ferry users to their Matrix accounts,
	// IRC people to their ghosts; the text stays escaped.
	bob.send("PRIVMSG", "#lobby", "ALICE: <b>ask</b> carol & bob, not alice_")
	got := alice.WaitForEvent(t, room, waitLong, bodyFrom(bobGhost, "ALICE: <b>ask</b> carol & bob, not alice_")).Content.AsMessage()
	wantHTML := `<a href="https://matrix.to/#/` + alice.UserID.String() + `">ALICE</a>: &lt;b&gt;ask&lt;/b&gt; ` +
		`<a href="https://matrix.to/#/` + carol.UserID.String() + `">carol</a> &amp; ` +
		`<a href="https://matrix.to/#/` + bobGhost.String() + `">bob</a>, not alice_`
	if got.FormattedBody != wantHTML || got.Mentions == nil || len(got.Mentions.UserIDs) != 3 || got.Mentions.UserIDs[0] != alice.UserID {
		t.Errorf("mentions became %q %+v", got.FormattedBody, got.Mentions)
	}
	if n := len(alice.Events(room)); n == 0 {
		t.Fatal("no events")
	}
	// Someone joining an invite-only channel's alias without being let in
	// is removed with the server's reason.
	bob.send("JOIN", "#closed")
	bob.send("MODE", "#closed", "+i")
	bob.expect("the mode change", isCmd("MODE", "bob"), nil)
	closed := alice.Join(t, "#irc_test_#closed:localhost")
	left := alice.WaitForMembership(t, closed, alice.UserID, event.MembershipLeave, waitLong)
	if reason := left.Content.AsMember().Reason; !strings.Contains(reason, "#closed") {
		t.Errorf("refused join removed alice with reason %q", reason)
	}
}

// TestE2EPrivateMessages (slow): a PM from an IRC person opens a DM room;
// answers go back as PRIVMSG to them.
func TestE2EPrivateMessages(t *testing.T) {
	e := startEnv(t, testbed.InspIRCdOptions{})
	alice, mgmt, _ := e.loggedInAlice()
	bob := e.peer("bob")
	bob.send("PRIVMSG", "alice", "psst")
	room := portalInvite(t, alice, mgmt)
	alice.Join(t, room.String())
	alice.WaitForEvent(t, room, waitLong, bodyFrom(e.ghost("bob"), "psst"))
	alice.SendText(t, room, "yes?")
	if m := bob.expect("alice's answer", isCmd("PRIVMSG", "alice"), nil); m.Param(1) != "yes?" || !strings.EqualFold(m.Param(0), "bob") {
		t.Errorf("bob got %v", m)
	}
	// CTCP VERSION is answered, not bridged.
	bob.send("PRIVMSG", "alice", "\x01VERSION\x01")
	bob.expect("the VERSION reply", func(m *irc.Message) bool {
		return isCmd("NOTICE", "alice")(m) && strings.HasPrefix(m.Param(1), "\x01VERSION")
	}, nil)

	// `irc pm` opens a DM room with someone who has not written yet.
	dave := e.peer("dave")
	e.h.Command(alice, mgmt, "irc pm test dave", "Opening a private chat with dave")
	dm := portalInvite(t, alice, mgmt, room)
	alice.Join(t, dm.String())
	alice.SendText(t, dm, "hi dave")
	if m := dave.expect("alice's PM", isCmd("PRIVMSG", "alice"), nil); m.Param(1) != "hi dave" {
		t.Errorf("dave got %v", m)
	}
	if dm == room {
		t.Errorf("the PM with dave reused bob's room")
	}
}

// TestE2EHistoryReplay (slow): InspIRCd's chanhistory replays recent lines
// to a joining client; they are not bridged again as new messages.
func TestE2EHistoryReplay(t *testing.T) {
	e := startEnv(t, testbed.InspIRCdOptions{ChanHistory: true})
	bob := e.peer("bob")
	bob.send("JOIN", "#hist")
	bob.expect("his JOIN", isCmd("JOIN", "bob"), nil)
	bob.send("MODE", "#hist", "+H", "10:1d")
	bob.send("PRIVMSG", "#hist", "old line")
	time.Sleep(1500 * time.Millisecond) // server-time of the old line must precede the JOIN

	alice, mgmt, _ := e.loggedInAlice()
	room := e.joinChannel(alice, mgmt, "#hist")
	bob.expect("alice's JOIN", isCmd("JOIN", "alice"), nil)
	bob.send("PRIVMSG", "#hist", "new line")
	alice.WaitForEvent(t, room, waitLong, bodyFrom(e.ghost("bob"), "new line"))
	for _, evt := range alice.Events(room) {
		if bodyFrom(e.ghost("bob"), "old line")(evt) {
			t.Errorf("a history replay was bridged as a new message")
		}
	}
}
