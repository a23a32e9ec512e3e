package bridge_test

import (
	"context"
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

// moderatedChannel gives tn the chat "chan", "The Channel", in which
// alice's remote account is a moderator and bob a member.
func moderatedChannel(tn *testnet.Connector) {
	name := "The Channel"
	moderator := 50
	tn.Chats["chan"] = &network.ChatInfo{Name: &name, Members: &network.MemberList{Members: []network.Member{
		{User: "alice", IsMe: true, PowerLevel: &moderator},
		{User: "bob"},
	}}}
}

// channelScene is Ferry on a testnet whose chat "chan" has a portal that
// alice, logged in, has joined.
type channelScene struct {
	h     *ferrytest.Harness
	alice *testbed.Client
	mgmt  id.RoomID
	cl    *testnet.Client
	room  id.RoomID
	ctx   context.Context
}

// newChannelScene starts Ferry on tn with perms, has alice log in and
// bob say "hello channel" in "chan", and alice join its portal.
func newChannelScene(t *testing.T, tn *testnet.Connector, perms config.Permissions) *channelScene {
	t.Helper()
	return newChannelSceneWith(t, tn, ferrytest.Options{Permissions: perms})
}

// newChannelSceneWith is newChannelScene with Ferry started with opts.
func newChannelSceneWith(t *testing.T, tn *testnet.Connector, opts ferrytest.Options) *channelScene {
	t.Helper()
	h := ferrytest.Start(t, opts, tn)
	s := &channelScene{h: h, alice: h.User("alice"), ctx: h.Context(2 * time.Minute)}
	s.mgmt = h.ManagementRoom(s.alice)
	s.cl = loginTest(t, h, tn, s.alice, s.mgmt, "alice")
	portal := network.PortalKey{Network: testnet.ID, Chat: "chan"}
	if err := s.cl.Handle(s.ctx, textMessage(portal, "c1", "bob", time.Now(), "hello channel")); err != nil {
		t.Fatal(err)
	}
	s.room = portalInvite(t, s.alice, s.mgmt)
	s.alice.Join(t, s.room.String())
	return s
}

// invite has alice invite u into the portal, and u join it.
func (s *channelScene) invite(t *testing.T, u *testbed.Client) {
	t.Helper()
	if _, err := s.alice.InviteUser(s.ctx, s.room, &mautrix.ReqInviteUser{UserID: u.UserID}); err != nil {
		t.Fatal(err)
	}
	u.WaitForInvite(t, waitLong, func(r id.RoomID, _ []*event.Event) bool { return r == s.room })
	u.Join(t, s.room.String())
}
