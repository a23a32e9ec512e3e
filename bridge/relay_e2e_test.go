package bridge_test

import (
	"strings"
	"testing"
	"time"

	"maunium.net/go/mautrix"
	"maunium.net/go/mautrix/event"
	"maunium.net/go/mautrix/id"

	"github.com/ferrybridge/ferry/bridge/config"
	"github.com/ferrybridge/ferry/bridge/network"
	"github.com/ferrybridge/ferry/internal/ferrytest"
	"github.com/ferrybridge/ferry/internal/testbed"
	"github.com/ferrybridge/ferry/internal/testnet"
)

// TestRelay: a moderator turns relaying on in a shared room; then a person
// with relay permission and no login speaks through the moderator's
// connection under their own name, and someone without permission is told
// why their message went nowhere.
func TestRelay(t *testing.T) {
	tn := testnet.New()
	name := "The Channel"
	moderator := 50
	tn.Chats["chan"] = &network.ChatInfo{Name: &name, Members: &network.MemberList{Members: []network.Member{
		{User: "alice", IsMe: true, PowerLevel: &moderator},
		{User: "bob"},
	}}}
	h := ferrytest.Start(t, ferrytest.Options{Permissions: config.Permissions{
		"@alice:localhost": config.LevelUser, "@carol:localhost": config.LevelRelay, "@dave:localhost": config.LevelUser, "@erin:localhost": config.LevelRelay,
	}}, tn)
	alice, carol, dave, erin := h.User("alice"), h.User("carol"), h.User("dave"), h.User("erin")
	mgmt := h.ManagementRoom(alice)
	cl := loginTest(t, h, tn, alice, mgmt, "alice")
	ctx := h.Context(2 * time.Minute)
	portal := network.PortalKey{Network: testnet.ID, Chat: "chan"}

	if err := cl.Handle(ctx, textMessage(portal, "c1", "bob", time.Now(), "hello channel")); err != nil {
		t.Fatal(err)
	}
	room := portalInvite(t, alice, mgmt)
	alice.Join(t, room.String())

	invite := func(u *testbed.Client) {
		t.Helper()
		if _, err := alice.InviteUser(ctx, room, &mautrix.ReqInviteUser{UserID: u.UserID}); err != nil {
			t.Fatal(err)
		}
		u.WaitForInvite(t, waitLong, func(r id.RoomID, _ []*event.Event) bool { return r == room })
		u.Join(t, room.String())
	}
	// Without relaying, someone with no login in the chat may not sit in
	// the room: the channel would not know they read along.
	invite(erin)
	kicked := alice.WaitForMembership(t, room, erin.UserID, event.MembershipLeave, waitLong)
	if reason := kicked.Content.AsMember().Reason; !strings.Contains(reason, "not connected") {
		t.Errorf("erin was removed with reason %q", reason)
	}

	// alice is a moderator (her remote account is one); dave is not.
	h.Command(alice, room, "!ferry relay on", "Relaying is on")
	invite(dave)
	invite(carol)
	h.Command(dave, room, "!ferry relay off", "only room moderators")

	carol.SendText(t, room, "hi from carol")
	out := expectOut[*network.OutgoingMessage](t, cl)
	if out.Relay == nil || out.Relay.DisplayName != "carol" || out.Content.Body != "hi from carol" || out.Sender != carol.UserID {
		t.Errorf("relayed message reached the network as %+v (relay %+v)", out.Content, out.Relay)
	}
	// dave has user permission but no login: relaying covers him too.
	dave.SendText(t, room, "hi from dave")
	if out := expectOut[*network.OutgoingMessage](t, cl); out.Relay == nil || out.Relay.DisplayName != "dave" {
		t.Errorf("dave's message was not relayed: %+v", out.Relay)
	}

	h.Command(alice, room, "!ferry relay off", "Relaying is off")
	refused := carol.SendText(t, room, "after relay")
	carol.WaitForEvent(t, room, waitLong, func(evt *event.Event) bool {
		msg := evt.Content.AsMessage()
		return evt.Sender == h.BotMXID && msg != nil && msg.RelatesTo.GetReplyTo() == refused
	})
	select {
	case got := <-cl.Outbox:
		t.Errorf("a message went out with relaying off: %+v", got)
	default:
	}
	// Commands in portal rooms do not reach the network.
	h.Command(alice, room, "!ferry version", "Ferry ")
	select {
	case got := <-cl.Outbox:
		t.Errorf("a command reached the network: %+v", got)
	case <-time.After(time.Second):
	}
}
