package bridge_test

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"maunium.net/go/mautrix"
	"maunium.net/go/mautrix/event"
	"maunium.net/go/mautrix/id"

	"github.com/ferrybridge/ferry/bridge"
	"github.com/ferrybridge/ferry/bridge/network"
	"github.com/ferrybridge/ferry/internal/ferrytest"
	"github.com/ferrybridge/ferry/internal/testbed"
	"github.com/ferrybridge/ferry/internal/testnet"
)

func appserviceRequest(t *testing.T, method, url, token, body string) int {
	t.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

// TestAppserviceAPI: the homeserver token is enforced, and queries answer
// without creating anything.
func TestAppserviceAPI(t *testing.T) {
	tn := testnet.New()
	h := ferrytest.Start(t, ferrytest.Options{}, tn)
	ctx := h.Context(time.Minute)
	base := h.Config.AppService.Address + "/_matrix/app/v1"
	evt := `{"events":[{"type":"m.room.message","event_id":"$forged","room_id":"!r:localhost","sender":"@alice:localhost","origin_server_ts":1,"content":{"msgtype":"m.text","body":"help"}}]}`

	for _, token := range []string{"", "wrong", h.Config.AppService.ASToken} {
		code := appserviceRequest(t, http.MethodPut, base+"/transactions/t1", token, evt)
		if code != http.StatusUnauthorized && code != http.StatusForbidden {
			t.Errorf("transaction with token %q answered %d", token, code)
		}
	}
	pending, err := h.Bridge.DB.MatrixEvents.Pending(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range pending {
		if p.EventID == "$forged" {
			t.Errorf("an unauthenticated transaction was stored")
		}
	}
	if code := appserviceRequest(t, http.MethodPut, base+"/transactions/t2", h.Config.AppService.HSToken, "not json"); code != http.StatusBadRequest {
		t.Errorf("malformed transaction answered %d", code)
	}

	// A query for an unknown ghost is 404 and creates no ghost; the bot and
	// known ghosts exist.
	unknown := "@test_nobody:localhost"
	if code := appserviceRequest(t, http.MethodGet, base+"/users/"+unknown, h.Config.AppService.HSToken, ""); code != http.StatusNotFound {
		t.Errorf("query for unknown ghost answered %d", code)
	}
	if g, err := h.Bridge.DB.Ghosts.GetByMXID(ctx, id.UserID(unknown)); err != nil || g != nil {
		t.Errorf("a user query created ghost %+v (%v)", g, err)
	}
	if code := appserviceRequest(t, http.MethodGet, base+"/users/"+h.BotMXID.String(), h.Config.AppService.HSToken, ""); code != http.StatusOK {
		t.Errorf("query for the bot answered %d", code)
	}
	if code := appserviceRequest(t, http.MethodGet, base+"/users/"+unknown, "wrong", ""); code != http.StatusUnauthorized && code != http.StatusForbidden {
		t.Errorf("query with a wrong token answered %d", code)
	}
	if code := appserviceRequest(t, http.MethodGet, base+"/rooms/%23irc_x_%23y:localhost", h.Config.AppService.HSToken, ""); code != http.StatusNotFound {
		t.Errorf("alias query answered %d", code)
	}
	// Queries are rate limited: a flood gets 429s.
	limited := 0
	for i := 0; i < 200; i++ {
		if appserviceRequest(t, http.MethodGet, fmt.Sprintf("%s/users/@test_n%d:localhost", base, i), h.Config.AppService.HSToken, "") == http.StatusTooManyRequests {
			limited++
		}
	}
	if limited == 0 {
		t.Errorf("200 queries in a row were never rate limited")
	}
}

// TestEncryptedRoomIsLeft: the bot says it cannot read encrypted rooms and
// leaves.
func TestEncryptedRoomIsLeft(t *testing.T) {
	h := ferrytest.Start(t, ferrytest.Options{}, testnet.New())
	alice := h.User("alice")
	ctx := h.Context(time.Minute)
	resp, err := alice.CreateRoom(ctx, &mautrix.ReqCreateRoom{
		Preset: "trusted_private_chat", IsDirect: true, Invite: []id.UserID{h.BotMXID},
		InitialState: []*event.Event{{Type: event.StateEncryption, Content: event.Content{Parsed: &event.EncryptionEventContent{Algorithm: id.AlgorithmMegolmV1}}}},
	})
	if err != nil {
		t.Fatal(err)
	}
	h.WaitForBotNotice(alice, resp.RoomID, "encrypt")
	alice.WaitForMembership(t, resp.RoomID, h.BotMXID, event.MembershipLeave, waitLong)
	if room, _ := h.Bridge.ManagementRoom(ctx, alice.UserID); room == resp.RoomID {
		t.Errorf("an encrypted room became the management room")
	}
}

// TestConnectionStateNotices: a login that needs action is reported at
// once; a short outage is not reported at all; a long one once, and its
// recovery once.
func TestConnectionStateNotices(t *testing.T) {
	old := bridge.DownNoticeAfter
	bridge.DownNoticeAfter = 2 * time.Second
	t.Cleanup(func() { bridge.DownNoticeAfter = old })
	sc := newScene(t, false)
	h, alice, mgmt, cl := sc.h, sc.alice, sc.mgmt, sc.cl

	// Brief reconnects: no notice.
	for i := 0; i < 5; i++ {
		cl.State(network.State{Kind: network.StateTransientDisconnect, Message: "reconnecting"})
		cl.State(network.State{Kind: network.StateConnected})
	}
	h.Command(alice, mgmt, "status", "alice: connected")
	// A long outage: one notice after DownNoticeAfter, then one on recovery.
	cl.State(network.State{Kind: network.StateTransientDisconnect, Message: "network unreachable"})
	h.Command(alice, mgmt, "status", "transient-disconnect (network unreachable)")
	h.WaitForBotNotice(alice, mgmt, "has been disconnected")
	cl.State(network.State{Kind: network.StateConnected})
	h.WaitForBotNotice(alice, mgmt, "connected again")
	// Needs action: at once.
	cl.State(network.State{Kind: network.StateBadCredentials, Message: "password changed"})
	h.WaitForBotNotice(alice, mgmt, "needs your attention: bad-credentials (password changed)")

	disconnected := 0
	for _, evt := range alice.Events(mgmt) {
		if msg := evt.Content.AsMessage(); evt.Sender == h.BotMXID && msg != nil && (strings.Contains(msg.Body, "disconnected") || strings.Contains(msg.Body, "connected again")) {
			disconnected++
		}
	}
	if disconnected != 2 {
		t.Errorf("%d connection notices for one long outage and five short ones; want 2", disconnected)
	}
}

// TestGroupRoomIsNotManagementRoom: the bot in a room with several people
// answers only prefixed commands there.
func TestGroupRoomIsNotManagementRoom(t *testing.T) {
	h := ferrytest.Start(t, ferrytest.Options{}, testnet.New())
	alice, bob := h.User("alice"), h.User("bob")
	ctx := h.Context(time.Minute)
	resp, err := alice.CreateRoom(ctx, &mautrix.ReqCreateRoom{Preset: "private_chat", Invite: []id.UserID{h.BotMXID, bob.UserID}})
	if err != nil {
		t.Fatal(err)
	}
	h.WaitForBotNotice(alice, resp.RoomID, "not your management room")
	alice.SendText(t, resp.RoomID, "version")
	h.Command(alice, resp.RoomID, "!ferry version", "Ferry ")
	if answers := botAnswers(h, alice, resp.RoomID, "Ferry "); answers != 1 {
		t.Errorf("the bot answered %d times to one unprefixed and one prefixed command; want 1", answers)
	}
	if room, _ := h.Bridge.ManagementRoom(ctx, alice.UserID); room == resp.RoomID {
		t.Errorf("a group room became the management room")
	}
}

// TestSharedManagementRoomIsOneNoMore: inviting someone into the
// management room makes it a group room, where only prefixed commands are
// answered, and the next direct chat with the bot becomes the management
// room.
func TestSharedManagementRoomIsOneNoMore(t *testing.T) {
	h := ferrytest.Start(t, ferrytest.Options{}, testnet.New())
	alice, bob := h.User("alice"), h.User("bob")
	ctx := h.Context(time.Minute)
	mgmt := h.ManagementRoom(alice)
	if _, err := alice.InviteUser(ctx, mgmt, &mautrix.ReqInviteUser{UserID: bob.UserID}); err != nil {
		t.Fatal(err)
	}
	h.WaitForBotNotice(alice, mgmt, "not your management room any more")
	if room, err := h.Bridge.ManagementRoom(ctx, alice.UserID); err != nil || room != "" {
		t.Errorf("management room after sharing it: %q (%v); want none", room, err)
	}
	alice.SendText(t, mgmt, "version")
	h.Command(alice, mgmt, "!ferry version", "Ferry ")
	if answers := botAnswers(h, alice, mgmt, "Ferry "); answers != 1 {
		t.Errorf("the bot answered %d times to one unprefixed and one prefixed command; want 1", answers)
	}
	h.ManagementRoom(alice) // a new direct chat is the management room again
}

// TestBusyReconnectsAreReportedOnce: an outage that a network retries
// faster than the notice delay (its state flipping between connecting and
// disconnected) is reported once, on time.
func TestBusyReconnectsAreReportedOnce(t *testing.T) {
	old := bridge.DownNoticeAfter
	bridge.DownNoticeAfter = 2 * time.Second
	t.Cleanup(func() { bridge.DownNoticeAfter = old })
	sc := newScene(t, false)
	before := ferrytest.Seen(sc.alice, sc.mgmt)
	// The network keeps retrying until the notice has come: with a timer
	// restarted at every state change it would never come.
	stop, flapped := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(flapped)
		for {
			sc.cl.State(network.State{Kind: network.StateConnecting})
			time.Sleep(200 * time.Millisecond)
			sc.cl.State(network.State{Kind: network.StateTransientDisconnect, Message: "connection refused"})
			select {
			case <-stop:
				return
			case <-time.After(200 * time.Millisecond):
			}
		}
	}()
	sc.h.WaitForBotNoticeExcept(sc.alice, sc.mgmt, "has been disconnected", before)
	close(stop)
	<-flapped
	sc.cl.State(network.State{Kind: network.StateConnected})
	sc.h.WaitForBotNoticeExcept(sc.alice, sc.mgmt, "connected again", before)
	notices := 0
	for _, evt := range sc.alice.Events(sc.mgmt) {
		if msg := evt.Content.AsMessage(); !before[evt.ID] && evt.Sender == sc.h.BotMXID && msg != nil && strings.Contains(msg.Body, "has been disconnected") {
			notices++
		}
	}
	if notices != 1 {
		t.Errorf("%d outage notices, want 1", notices)
	}
}

// TestNetworkNotifiesUser: a network can tell a user something that
// belongs to no chat; it lands in their management room.
func TestNetworkNotifiesUser(t *testing.T) {
	sc := newScene(t, false)
	sc.cl.Notify(sc.h.Context(time.Minute), "the server refused your nick **alice**")
	sc.h.WaitForBotNotice(sc.alice, sc.mgmt, "the server refused your nick **alice**")
}

// botAnswers counts the bot's messages in room, as user sees them, that
// start with prefix.
func botAnswers(h *ferrytest.Harness, user *testbed.Client, room id.RoomID, prefix string) int {
	n := 0
	for _, evt := range user.Events(room) {
		if msg := evt.Content.AsMessage(); evt.Sender == h.BotMXID && msg != nil && strings.HasPrefix(msg.Body, prefix) {
			n++
		}
	}
	return n
}
