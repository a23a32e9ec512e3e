package bridge_test

import (
	"testing"
	"time"

	"maunium.net/go/mautrix/event"
	"maunium.net/go/mautrix/id"

	"github.com/ferrybridge/ferry/bridge/config"
	"github.com/ferrybridge/ferry/internal/ferrytest"
	"github.com/ferrybridge/ferry/internal/testbed"
	"github.com/ferrybridge/ferry/internal/testnet"
)

// secretRefusedScene starts Ferry on tn with alice a user and guest at
// level, has alice log in and join the portal of tn's "chan", runs inRoom
// there (nil for nothing), and invites guest in. Then guest sends typed
// ("!ferry test secret hunter2", or a typo of it) in the portal, and the
// test waits for the bot's refusal (a notice containing refusal), for
// the secret's redaction, and checks the refusal says it was deleted. It
// returns alice's login.
func secretRefusedScene(t *testing.T, tn *testnet.Connector, guest string, level config.Level, typed, refusal string, inRoom func(h *ferrytest.Harness, alice *testbed.Client, room id.RoomID)) *testnet.Client {
	t.Helper()
	var proxy *testbed.FaultProxy
	s := newChannelSceneWith(t, tn, ferrytest.Options{
		Permissions: config.Permissions{"@alice:localhost": config.LevelUser, "@" + guest + ":localhost": level},
		HomeserverVia: func(t testing.TB, dendriteURL string) string {
			proxy = testbed.NewFaultProxy(t, dendriteURL)
			return proxy.URL()
		},
	})
	h, alice, room, other := s.h, s.alice, s.room, s.h.User(guest)
	if inRoom != nil {
		inRoom(h, alice, room)
	}
	// Someone who may not be relayed, in no chat, is removed from the
	// room as they join: held back, the removal cannot come before
	// their message does, which a busy machine otherwise lets it (the
	// message then never reaches the room). It ends with the test.
	proxy.DelayNext("POST /_matrix/client/v3/rooms/"+room.String()+"/kick", 1, 10*time.Minute)
	s.invite(t, other)

	before := ferrytest.Seen(alice, room)
	secret := other.SendText(t, room, typed)
	h.WaitForBotNoticeExcept(alice, room, refusal, before)
	alice.WaitForEvent(t, room, waitLong, func(evt *event.Event) bool {
		return evt.Type == event.EventRedaction && evt.Redacts == secret
	})
	if said := botSaidSince(h, alice, room, before, "deleted it"); len(said) == 0 {
		t.Errorf("the refusal does not say the message was deleted")
	}
	return s.cl
}
