package portals

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/rs/zerolog"
	"maunium.net/go/mautrix"
	"maunium.net/go/mautrix/event"
	"maunium.net/go/mautrix/id"

	"github.com/ferrybridge/ferry/bridge/network"
	"github.com/ferrybridge/ferry/database"
	"github.com/ferrybridge/ferry/internal/dbtest"
	"github.com/ferrybridge/ferry/internal/testbed"
	"github.com/ferrybridge/ferry/puppets"
)

// The room's members read for the ghosts that left the chat
// (departedGhosts) are older than a membership Ferry hears while the
// read is on its way: that one must stand in the state store, not be
// undone by the list. Here the homeserver's answer is held up, and the
// ghost's leave is heard meanwhile.
func TestDepartedGhostsListKeepsAMembershipHeardMeanwhile(t *testing.T) {
	hs, reg := testbed.StartDendriteForAppservice(t)
	proxy := testbed.NewFaultProxy(t, hs.URL)
	as := testbed.NewAppservice(t, reg, proxy.URL())
	log := zerolog.New(zerolog.NewTestWriter(t)).Level(zerolog.WarnLevel)
	matrix := puppets.NewMatrix(as, log)
	db := dbtest.Open(t, database.DefaultType, dbtest.SQLiteURI(t))
	ghosts := puppets.NewGhosts(db, matrix, "localhost", log)
	m := NewManager(db, ghosts, matrix, &loginDir{logins: map[network.LoginID]*network.Login{}}, log)
	t.Cleanup(m.cancel)

	ctx := context.Background()
	carol := ghosts.MXID(network.GhostKey{Network: "ferry", User: "carol"})
	room := testbed.CreateRoom(t, as, &mautrix.ReqCreateRoom{Preset: "private_chat", Invite: []id.UserID{carol}})
	if _, err := as.Intent(carol).JoinRoomByID(ctx, room); err != nil {
		t.Fatal(err)
	}
	testbed.WaitForServerMembership(t, as, room, carol, event.MembershipJoin)
	key := network.PortalKey{Network: "ferry", Chat: "#departed"}
	if err := db.Portals.Put(ctx, &database.Portal{Key: key, RoomID: room}); err != nil {
		t.Fatal(err)
	}
	p, err := m.Get(ctx, key)
	if err != nil {
		t.Fatal(err)
	}

	// The read of the members is answered a second late; half-way, her
	// leave is heard.
	proxy.DelayNext("GET /_matrix/client/v3/rooms/"+room.String()+"/", 1, time.Second)
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		time.Sleep(500 * time.Millisecond)
		leave := &event.Event{
			ID: "$carol-left", Type: event.StateMember, RoomID: room, Sender: carol, StateKey: ptr(carol.String()),
			Content: event.Content{Parsed: &event.MemberEventContent{Membership: event.MembershipLeave}},
		}
		mautrix.UpdateStateStore(ctx, as.StateStore, leave)
	}()
	departed, err := p.departedGhosts(ctx, map[id.UserID]bool{})
	wg.Wait()
	if err != nil {
		t.Fatal(err)
	}
	if len(departed) != 1 || departed[0] != carol {
		t.Errorf("departed ghosts %v; want [%s] (the homeserver's list)", departed, carol)
	}
	for user, want := range map[id.UserID]event.Membership{carol: event.MembershipLeave, as.BotMXID(): event.MembershipJoin} {
		member, err := as.StateStore.GetMember(ctx, room, user)
		if err != nil {
			t.Fatal(err)
		}
		if member.Membership != want {
			t.Errorf("the store has %s as %q after the list was read; want %q", user, member.Membership, want)
		}
	}
}
