package portals

import (
	"context"
	"net/http"
	"slices"
	"testing"
	"time"

	"maunium.net/go/mautrix"
	"maunium.net/go/mautrix/event"

	"github.com/ferrybridge/ferry/bridge/network"
)

// A full member list removes the ghosts in the room that are not on it.
// In a direct chat the user opened with a ghost the bot was never
// invited, and may not read the room's members: the chat's ghost reads
// them for it, or a stray ghost there would stay for good, and every
// full list would fail on it.
func TestFullMemberSyncRemovesAStrayGhostFromADirectChatWithoutTheBot(t *testing.T) {
	dc := newBotlessDirectChat(t)
	ctx := context.Background()
	carol, err := dc.p.m.ghosts.Get(ctx, network.GhostKey{Network: dc.key.Network, User: "carol"})
	if err != nil {
		t.Fatal(err)
	}
	stray := carol.Intent()
	if err = stray.EnsureRegistered(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err = dc.bob.Intent().InviteUser(ctx, dc.room, &mautrix.ReqInviteUser{UserID: stray.UserID}); err != nil {
		t.Fatal(err)
	}
	if _, err = stray.JoinRoomByID(ctx, dc.room); err != nil {
		t.Fatal(err)
	}
	// Dendrite's member list (/members, read from its sync tables)
	// follows the room a moment behind.
	cli := dc.bob.Intent().Client
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		var members mautrix.RespMembers
		// Not the client's Members: it would write the list to the store.
		if _, err := cli.MakeRequest(ctx, http.MethodGet, cli.BuildClientURL("v3", "rooms", dc.room, "members"), nil, &members); err != nil {
			t.Fatal(err)
		}
		if slices.ContainsFunc(members.Chunk, func(evt *event.Event) bool {
			return evt.GetStateKey() == stray.UserID.String() && evt.Content.ParseRaw(evt.Type) == nil &&
				evt.Content.AsMember().Membership == event.MembershipJoin
		}) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the homeserver's member list never had the stray ghost joined")
		}
	}

	list := &network.MemberList{IsFull: true, Members: []network.Member{
		{User: dc.login.RemoteUser, IsMe: true},
		{User: "bob"},
	}}
	dc.p.syncMembers(ctx, dc.login, list)
	dc.p.continueMemberSync(ctx)

	if got := dc.membership(t, stray.UserID); got != event.MembershipLeave {
		t.Errorf("the stray ghost's membership after a full member list without it is %q, want leave", got)
	}
	if dc.p.m.matrix.AS.StateStore.IsMembership(ctx, dc.room, stray.UserID, event.MembershipJoin) {
		t.Error("the state store still has the stray ghost joined")
	}
}
