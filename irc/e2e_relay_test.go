package irc

import (
	"testing"
	"time"

	"maunium.net/go/mautrix"
	"maunium.net/go/mautrix/event"
	"maunium.net/go/mautrix/id"

	"github.com/ferrybridge/ferry/internal/testbed"
)

// TestE2ERelay (slow): alice, channel op and so room moderator, turns
// relaying on; dave, with no IRC login, speaks through her connection as
// "<name> text", his display name stripped of CTCP and IRC codes.
func TestE2ERelay(t *testing.T) {
	e := startEnv(t, testbed.InspIRCdOptions{})
	ctx := e.h.Context(2 * time.Minute)
	alice, dave := e.h.User("alice"), e.h.User("dave")
	mgmt := e.h.ManagementRoom(alice)
	e.login(alice, mgmt, "alice")
	e.h.Command(alice, mgmt, "irc join test #relay", "Joining #relay")
	room := portalInvite(t, alice, mgmt)
	alice.Join(t, room.String())
	bob := e.peer("bob")
	bob.send("JOIN", "#relay")
	bob.expect("his JOIN", isCmd("JOIN", "bob"), nil)
	alice.WaitForMembership(t, room, e.ghost("bob"), event.MembershipJoin, waitLong)

	e.h.Command(alice, room, "!ferry relay on", "Relaying is on")
	if err := dave.SetDisplayName(ctx, "\x01ACTION Da\x02ve\x0304,05!"); err != nil {
		t.Fatal(err)
	}
	if _, err := alice.InviteUser(ctx, room, &mautrix.ReqInviteUser{UserID: dave.UserID}); err != nil {
		t.Fatal(err)
	}
	dave.WaitForInvite(t, waitLong, func(r id.RoomID, _ []*event.Event) bool { return r == room })
	dave.Join(t, room.String())
	dave.SendText(t, room, "hello from matrix")
	m := bob.expect("the relayed line", isCmd("PRIVMSG", "alice"), nil)
	if m.Param(1) != "<ACTION Dave!> hello from matrix" {
		t.Errorf("relayed line arrived as %q", m.Param(1))
	}
}
