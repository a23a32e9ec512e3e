package portals

import (
	"context"
	"testing"

	"maunium.net/go/mautrix"
	"maunium.net/go/mautrix/id"

	"github.com/ferrybridge/ferry/bridge/network"
	"github.com/ferrybridge/ferry/database"
)

// A Ferry user who is joined to a shared portal room, but of whom Ferry's
// store has no membership row (lost, or never written), is invited by
// ensureUserIn before an event of theirs is bridged. The homeserver
// refuses the invite of a joined user; that refusal means the user is in
// the room, so the event goes on and the membership is stored, rather
// than failing with M_FORBIDDEN. Real Dendrite.
func TestEnsureUserInTakesAJoinedUserWithoutARowAsIn(t *testing.T) {
	sc := newUserScene(t)
	ctx := context.Background()
	resp, err := sc.as.BotClient().CreateRoom(ctx, &mautrix.ReqCreateRoom{Preset: "private_chat", Invite: []id.UserID{sc.alice.UserID}})
	if err != nil {
		t.Fatal(err)
	}
	sc.alice.Join(t, resp.RoomID.String())
	key := network.PortalKey{Network: "test", Chat: "#joined"}
	if err = sc.db.Portals.Put(ctx, &database.Portal{Key: key, RoomID: resp.RoomID}); err != nil {
		t.Fatal(err)
	}
	if err = sc.db.Logins.Put(ctx, &database.Login{Network: key.Network, ID: sc.login.ID, UserMXID: sc.alice.UserID}); err != nil {
		t.Fatal(err)
	}
	p, err := sc.m.Get(ctx, key)
	if err != nil {
		t.Fatal(err)
	}
	if err = p.ensureUserIn(ctx, sc.login); err != nil {
		t.Fatalf("a joined user without a membership row was not taken as in the room: %v", err)
	}
	link, err := sc.db.UserPortals.Get(ctx, sc.alice.UserID, key)
	if err != nil {
		t.Fatal(err)
	}
	if link == nil || link.Login != sc.login.ID {
		t.Errorf("the membership of the joined user is stored as %+v; want through %s", link, sc.login.ID)
	}
}
