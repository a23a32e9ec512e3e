package bridge

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/rs/zerolog"
	"maunium.net/go/mautrix"
	"maunium.net/go/mautrix/appservice"
	"maunium.net/go/mautrix/event"
	"maunium.net/go/mautrix/id"

	"github.com/ferrybridge/ferry/database"
	"github.com/ferrybridge/ferry/internal/dbtest"
	"github.com/ferrybridge/ferry/internal/testbed"
	"github.com/ferrybridge/ferry/puppets"
)

// The members of a room the bot is invited into are read to tell a
// management room from a shared one (otherMembers). A membership Ferry
// hears while that read is on its way is newer than the list, and must
// stand in the state store: here the invitee's join is heard while the
// homeserver's answer (the invite) is held up.
func TestOtherMembersKeepsAMembershipHeardMeanwhile(t *testing.T) {
	hs, reg := testbed.StartDendriteForAppservice(t)
	proxy := testbed.NewFaultProxy(t, hs.URL)
	db := dbtest.Open(t, database.DefaultType, dbtest.SQLiteURI(t))
	store, _ := stateStores(t, db)
	as, err := appservice.CreateFull(appservice.CreateOpts{Registration: reg, HomeserverDomain: "localhost", HomeserverURL: proxy.URL(), StateStore: store})
	if err != nil {
		t.Fatal(err)
	}
	b := &Bridge{Matrix: puppets.NewMatrix(as, zerolog.New(zerolog.NewTestWriter(t)).Level(zerolog.WarnLevel))}

	ctx := context.Background()
	alice := id.NewUserID("ferry_alice", "localhost")
	room := testbed.CreateRoom(t, as, &mautrix.ReqCreateRoom{Preset: "private_chat", Invite: []id.UserID{alice}})
	testbed.WaitForServerMembership(t, as, room, alice, event.MembershipInvite)

	// The echo of the bot's invite, so that her join is taken as newer.
	store.UpdateState(ctx, &event.Event{
		ID: "$alice-invited", Type: event.StateMember, RoomID: room, Sender: as.BotMXID(), StateKey: new(alice.String()),
		Content: event.Content{Parsed: &event.MemberEventContent{Membership: event.MembershipInvite}},
	})

	proxy.Inject("GET /_matrix/client/v3/rooms/"+room.String()+"/", -1, testbed.Fault{Delay: time.Second})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		time.Sleep(500 * time.Millisecond)
		join := &event.Event{
			ID: "$alice-joined", Type: event.StateMember, RoomID: room, Sender: alice, StateKey: new(alice.String()),
			Content: event.Content{Parsed: &event.MemberEventContent{Membership: event.MembershipJoin}},
		}
		store.UpdateState(ctx, join)
	}()
	others, err := b.otherMembers(ctx, room)
	wg.Wait()
	if err != nil {
		t.Fatal(err)
	}
	if len(others) != 1 || !others[alice] {
		t.Errorf("other members %v; want only %s", others, alice)
	}
	for user, want := range map[id.UserID]event.Membership{alice: event.MembershipJoin, as.BotMXID(): event.MembershipJoin} {
		if got, err := store.GetMembership(ctx, room, user); err != nil || got != want {
			t.Errorf("the store has %s as %q (%v) after the list was read; want %q", user, got, err, want)
		}
	}
}
