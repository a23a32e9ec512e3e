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

	"github.com/ferrybridge/ferry/bridge/network"
	"github.com/ferrybridge/ferry/internal/ferrytest"
	"github.com/ferrybridge/ferry/internal/testnet"
)

// TestJoinByAlias: joining #test_<chat> from a Matrix client creates the
// room on the alias query and joins the chat with the user's login; a
// mixed-case alias finds the same room; people who cannot join are
// removed with the reason.
func TestJoinByAlias(t *testing.T) {
	sc := newScene(t, false)
	h, alice, cl := sc.h, sc.alice, sc.cl
	bob := h.User("bob")

	room := alice.Join(t, "#test_lobby:localhost")
	if got := expectOut[*testnet.JoinOut](t, cl); got.Portal != (network.PortalKey{Network: testnet.ID, Chat: "lobby"}) {
		t.Errorf("joined %+v on the network", got.Portal)
	}
	if again := alice.Join(t, "#test_LOBBY:localhost"); again != room {
		t.Errorf("a mixed-case alias led to another room: %s, want %s", again, room)
	}
	// Remote messages of the chat arrive in that room.
	ctx := h.Context(time.Minute)
	if err := cl.Handle(ctx, textMessage(network.PortalKey{Network: testnet.ID, Chat: "lobby"}, "l1", "bob", time.Now(), "welcome")); err != nil {
		t.Fatal(err)
	}
	alice.WaitForEvent(t, room, waitLong, bodyIs(h.Bridge.Ghosts.MXID(network.GhostKey{Network: testnet.ID, User: "bob"}), "welcome"))

	// bob has no login: he may not stay.
	bob.Join(t, "#test_lobby:localhost")
	left := alice.WaitForMembership(t, room, bob.UserID, event.MembershipLeave, waitLong)
	if reason := left.Content.AsMember().Reason; !strings.Contains(reason, "not connected") {
		t.Errorf("bob was removed with reason %q", reason)
	}
	// The network refuses alice in another chat: she is removed with its reason.
	banned := alice.Join(t, "#test_banned:localhost")
	left = alice.WaitForMembership(t, banned, alice.UserID, event.MembershipLeave, waitLong)
	if reason := left.Content.AsMember().Reason; !strings.Contains(reason, "you are banned") {
		t.Errorf("alice was removed with reason %q", reason)
	}
	// Leaving the room leaves nothing by itself on a network without
	// ChatLeaver; the link is forgotten, so rejoining joins again.
	if _, err := alice.LeaveRoom(ctx, room); err != nil {
		t.Fatal(err)
	}
	time.Sleep(500 * time.Millisecond)
	alice.Join(t, "#test_lobby:localhost")
	if got := expectOut[*testnet.JoinOut](t, cl); got.Portal.Chat != "lobby" {
		t.Errorf("rejoin joined %+v", got.Portal)
	}
}

// TestDirectChatWithGhost: inviting a ghost to a new direct chat makes it
// the DM portal with that person.
func TestDirectChatWithGhost(t *testing.T) {
	sc := newScene(t, false)
	h, alice, cl := sc.h, sc.alice, sc.cl
	ctx := h.Context(time.Minute)
	carol := h.Bridge.Ghosts.MXID(network.GhostKey{Network: testnet.ID, User: "carol"})

	resp, err := alice.CreateRoom(ctx, &mautrix.ReqCreateRoom{Preset: "trusted_private_chat", IsDirect: true, Invite: []id.UserID{carol}})
	if err != nil {
		t.Fatal(err)
	}
	alice.WaitForMembership(t, resp.RoomID, carol, event.MembershipJoin, waitLong)
	alice.SendText(t, resp.RoomID, "hi carol")
	out := expectOut[*network.OutgoingMessage](t, cl)
	if want := (network.PortalKey{Network: testnet.ID, Chat: "dm-carol", Receiver: "alice"}); out.Portal != want || out.Content.Body != "hi carol" {
		t.Errorf("DM reached the network as %+v in %+v", out.Content.Body, out.Portal)
	}
	if err = cl.Handle(ctx, textMessage(out.Portal, "d1", "carol", time.Now(), "hi alice")); err != nil {
		t.Fatal(err)
	}
	alice.WaitForEvent(t, resp.RoomID, waitLong, bodyIs(carol, "hi alice"))

	// A second direct chat with the same person points to the first.
	second, err := alice.CreateRoom(ctx, &mautrix.ReqCreateRoom{Preset: "trusted_private_chat", IsDirect: true, Invite: []id.UserID{carol}})
	if err != nil {
		t.Fatal(err)
	}
	notice := alice.WaitForEvent(t, second.RoomID, waitLong, func(evt *event.Event) bool { return evt.Sender == carol && evt.Type == event.EventMessage })
	if !strings.Contains(notice.Content.AsMessage().Body, resp.RoomID.String()) {
		t.Errorf("the second DM did not point to the first: %q", notice.Content.AsMessage().Body)
	}
}

// TestPowerLevelsFollowNetwork: a member promoted on the network gets the
// power level in the room, and loses it when demoted.
func TestPowerLevelsFollowNetwork(t *testing.T) {
	sc := newScene(t, false)
	room := sc.openPortal(t, "hello")
	ctx := sc.h.Context(time.Minute)
	for _, level := range []int{50, 0} {
		lvl := level
		before := ferrytest.Seen(sc.alice, room)
		err := sc.cl.Handle(ctx, &network.ChatInfoChange{
			Meta: network.Meta{Portal: sc.portal, Sender: network.Sender{User: "bob"}, Timestamp: time.Now()},
			Info: &network.ChatInfo{Members: &network.MemberList{Members: []network.Member{{User: "bob", PowerLevel: &lvl}}}},
		})
		if err != nil {
			t.Fatal(err)
		}
		sc.alice.WaitForEvent(t, room, waitLong, func(evt *event.Event) bool {
			pl, ok := evt.Content.Parsed.(*event.PowerLevelsEventContent)
			return !before[evt.ID] && evt.Type == event.StatePowerLevels && ok && pl.GetUserLevel(sc.bob) == lvl
		})
	}
}

// In a room not everyone may join (a per-user chat is invite-only), a new
// member's ghost is invited by the bot before it joins: no join of
// Ferry's is refused on the way, so a ghost costs the homeserver no more
// requests than in an open room.
func TestGhostIsInvitedBeforeItJoinsAnInviteOnlyRoom(t *testing.T) {
	s := newScene(t, true)
	room := s.openPortal(t, "hello")
	carol := s.h.Bridge.Ghosts.MXID(network.GhostKey{Network: testnet.ID, User: "carol"})
	for i, who := range []network.UserID{"carol", "dave"} {
		body := fmt.Sprintf("%s here", who)
		if err := s.cl.Handle(s.h.Context(time.Minute), textMessage(s.portal, network.MessageID(fmt.Sprintf("c%d", i)), who, time.Now(), body)); err != nil {
			t.Fatal(err)
		}
		s.alice.WaitForEvent(t, room, waitLong, bodyIs(s.h.Bridge.Ghosts.MXID(network.GhostKey{Network: testnet.ID, User: who}), body))
	}
	var joins, refused int
	for _, r := range s.proxy.Requests() {
		if r.Method != http.MethodPost || !strings.HasSuffix(r.Path, "/rooms/"+room.String()+"/join") {
			continue
		}
		joins++
		if r.Status == http.StatusForbidden {
			refused++
		}
	}
	if joins < 2 || refused > 0 {
		t.Errorf("%d joins to the room went through the proxy, %d of them refused; want carol's and dave's, none refused", joins, refused)
	}
	var member event.MemberEventContent
	if err := s.alice.StateEvent(s.h.Context(time.Minute), room, event.StateMember, carol.String(), &member); err != nil || member.Membership != event.MembershipJoin {
		t.Errorf("carol's ghost: %q (%v), want join", member.Membership, err)
	}
}
