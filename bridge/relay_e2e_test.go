package bridge_test

import (
	"strings"
	"testing"
	"time"

	"maunium.net/go/mautrix/event"

	"github.com/ferrybridge/ferry/bridge/config"
	"github.com/ferrybridge/ferry/bridge/network"
	"github.com/ferrybridge/ferry/internal/testnet"
)

// TestRelay: a moderator turns relaying on in a shared room; then a person
// with relay permission and no login speaks through the moderator's
// connection under their own name, and someone without permission is told
// why their message went nowhere.
func TestRelay(t *testing.T) {
	tn := testnet.New()
	moderatedChannel(tn)
	s := newChannelScene(t, tn, config.Permissions{
		"@alice:localhost": config.LevelUser, "@carol:localhost": config.LevelRelay, "@dave:localhost": config.LevelUser, "@erin:localhost": config.LevelRelay,
	})
	h, alice, room, cl := s.h, s.alice, s.room, s.cl
	carol, dave, erin := h.User("carol"), h.User("dave"), h.User("erin")

	// Without relaying, someone with no login in the chat may not sit in
	// the room: the channel would not know they read along.
	s.invite(t, erin)
	kicked := alice.WaitForMembership(t, room, erin.UserID, event.MembershipLeave, waitLong)
	if reason := kicked.Content.AsMember().Reason; !strings.Contains(reason, "not connected") {
		t.Errorf("erin was removed with reason %q", reason)
	}

	// alice is a moderator (her remote account is one); dave is not.
	h.Command(alice, room, "!ferry relay on", "Relaying is on")
	s.invite(t, dave)
	s.invite(t, carol)
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
