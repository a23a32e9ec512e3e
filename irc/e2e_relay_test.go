package irc

import (
	"strings"
	"testing"
	"time"

	"gopkg.in/irc.v4"
	"maunium.net/go/mautrix"
	"maunium.net/go/mautrix/event"
	"maunium.net/go/mautrix/id"

	"github.com/ferrybridge/ferry/internal/testbed"
)

// TestE2ERelay (slow): alice, channel op and so room moderator, turns
// relaying on; dave, with no IRC login, speaks through the relay bot's
// connection (not alice's) as "<name> text", his display name stripped of
// CTCP and IRC codes, while alice's own lines still come from alice. The
// bot is never a ghost, and when it cannot join (+i) the sender is told.
func TestE2ERelay(t *testing.T) {
	testRelay(t, startEnv(t, testbed.InspIRCdOptions{}))
}

func testRelay(t *testing.T, e *ircEnv) {
	r := e.relayingTo(t, "#relay", "\x01ACTION Da\x02ve\x0304,05!")
	alice, dave, cl, room, bob := r.alice, r.dave, r.aliceClient, r.room, r.bob

	// The channel is invite-only: the bot cannot join, and dave is told.
	if err := cl.currentConn().Send(&irc.Message{Command: "MODE", Params: []string{"#relay", "+i"}}); err != nil {
		t.Fatal(err)
	}
	bob.expect("the +i", isCmd("MODE", "alice"), nil)
	refused := dave.SendText(t, room, "while invite-only")
	notice := dave.WaitForEvent(t, room, waitLong, func(evt *event.Event) bool {
		msg := evt.Content.AsMessage()
		return evt.Sender == e.h.BotMXID && msg != nil && msg.RelatesTo.GetReplyTo() == refused
	})
	if body := notice.Content.AsMessage().Body; !strings.Contains(body, "relay bot cannot join #relay") || !strings.Contains(body, "invite only") {
		t.Errorf("the refusal was reported as %q", body)
	}
	if err := cl.currentConn().Send(&irc.Message{Command: "MODE", Params: []string{"#relay", "-i"}}); err != nil {
		t.Fatal(err)
	}
	bob.expect("the -i", isCmd("MODE", "alice"), nil)

	dave.SendText(t, room, "hello from matrix")
	bob.expect("the relay bot's JOIN", isCmd("JOIN", "ferry-relay"), nil)
	m := bob.expect("the relayed line", isCmd("PRIVMSG", "ferry-relay"), func(m *irc.Message) {
		if isCmd("PRIVMSG", "alice")(m) {
			t.Errorf("relayed line sent by alice: %q", m.Param(1))
		}
	})
	if m.Param(1) != "<ACTION Dave!> hello from matrix" {
		t.Errorf("relayed line arrived as %q", m.Param(1))
	}
	alice.SendText(t, room, "alice herself")
	if m := bob.expect("alice's own line", isCmd("PRIVMSG", "alice"), nil); m.Param(1) != "alice herself" {
		t.Errorf("alice's line arrived as %q", m.Param(1))
	}
	dave.SendText(t, room, "again")
	if m := bob.expect("the second relayed line", isCmd("PRIVMSG", "ferry-relay"), nil); m.Param(1) != "<ACTION Dave!> again" {
		t.Errorf("second relayed line arrived as %q", m.Param(1))
	}
	// bob's line after all that reaches Matrix; the bot never became a
	// ghost in the room, nor were its lines bridged back.
	bob.send("PRIVMSG", "#relay", "done")
	alice.WaitForEvent(t, room, waitLong, bodyFrom(e.ghost("bob"), "done"))
	botGhost := e.ghost("ferry-relay")
	for _, evt := range alice.Events(room) {
		if evt.Sender == botGhost || (evt.StateKey != nil && *evt.StateKey == botGhost.String()) {
			t.Errorf("the relay bot appeared in the room: %s %v", evt.Type.Type, evt.Content.Raw)
		}
	}
}

// relayScene is a channel where alice (op, logged in) has turned
// relaying on and dave, with no IRC login, has joined its room (under
// daveName, if given to relayingTo); bob is a plain IRC user there.
type relayScene struct {
	alice, dave *testbed.Client
	mgmt, room  id.RoomID
	aliceClient *Client
	bob         *peer
}

func (e *ircEnv) relayingTo(t *testing.T, channel, daveName string) relayScene {
	t.Helper()
	ctx := e.h.Context(2 * time.Minute)
	r := relayScene{alice: e.h.User("alice"), dave: e.h.User("dave")}
	r.mgmt = e.h.ManagementRoom(r.alice)
	r.aliceClient = e.login(r.alice, r.mgmt, "alice")
	r.room = e.joinChannel(r.alice, r.mgmt, channel)
	r.bob = e.peer("bob")
	r.bob.send("JOIN", channel)
	r.bob.expect("his JOIN", isCmd("JOIN", "bob"), nil)
	r.alice.WaitForMembership(t, r.room, e.ghost("bob"), event.MembershipJoin, waitLong)

	e.h.Command(r.alice, r.room, "!ferry relay on", "Relaying is on")
	if daveName != "" {
		if err := r.dave.SetDisplayName(ctx, daveName); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := r.alice.InviteUser(ctx, r.room, &mautrix.ReqInviteUser{UserID: r.dave.UserID}); err != nil {
		t.Fatal(err)
	}
	r.dave.WaitForInvite(t, waitLong, func(room id.RoomID, _ []*event.Event) bool { return room == r.room })
	r.dave.Join(t, r.room.String())
	return r
}
