package portals

import (
	"context"
	"net/http"
	"slices"
	"testing"
	"time"

	"maunium.net/go/mautrix"
	"maunium.net/go/mautrix/event"
	"maunium.net/go/mautrix/id"

	"github.com/ferrybridge/ferry/bridge/network"
	"github.com/ferrybridge/ferry/database"
)

// newBotDirectChat is newBotlessDirectChat with the bot in the room: a
// direct chat the bridge made, with bob's ghost and alice.
func newBotDirectChat(t *testing.T) *botlessDirectChat {
	t.Helper()
	dc := newBotlessDirectChat(t)
	ctx := context.Background()
	matrix := dc.p.m.matrix
	resp, err := matrix.Bot().CreateRoom(ctx, &mautrix.ReqCreateRoom{
		Preset: "private_chat", IsDirect: true, Invite: []id.UserID{dc.alice.UserID, dc.bob.MXID},
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, err = dc.alice.Client.JoinRoomByID(ctx, resp.RoomID); err != nil {
		t.Fatal(err)
	}
	if err = dc.bob.Intent().EnsureJoined(ctx, resp.RoomID); err != nil {
		t.Fatal(err)
	}
	key := network.PortalKey{Network: dc.key.Network, Chat: "bob-with-bot"}
	if err = dc.db.Portals.Put(ctx, &database.Portal{Key: key, RoomID: resp.RoomID, IsDirect: true, OtherUser: "bob"}); err != nil {
		t.Fatal(err)
	}
	m := dc.p.m
	p, err := m.Get(ctx, key)
	if err != nil {
		t.Fatal(err)
	}
	if p.botOutside(ctx) {
		t.Fatal("the scene's bot is not in the direct chat")
	}
	dc.p, dc.key, dc.room = p, key, resp.RoomID
	return dc
}

// A direct chat moves to a new remote ID for the same person (WhatsApp:
// from their LID to their phone number), and the resync that follows
// names the new ID's ghost as the other user. That ghost speaks from now
// on: it must be the chat's one ghost, and, where the bot is outside,
// the one that acts for the bot (notices, invites, kicks).
func TestRekeyedDirectChatChangesItsGhost(t *testing.T) {
	withAndWithoutBot(t, func(t *testing.T, dc *botlessDirectChat, withBot bool) {
		ctx := context.Background()
		m, p := dc.p.m, dc.p
		moved, newGhost := rekeyAndResync(t, dc)
		want := []id.UserID{dc.alice.UserID, newGhost}
		if withBot {
			want = append(want, m.matrix.BotMXID())
		}
		slices.Sort(want)
		var joined []id.UserID
		for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(100 * time.Millisecond) {
			joined = joinedMembers(t, dc.alice.Client, dc.room)
			if slices.Equal(joined, want) || time.Now().After(deadline) {
				break
			}
		}
		if !slices.Equal(joined, want) {
			t.Errorf("the room's members after the move are %v, want %v (the old ghost %s gone)", joined, want, dc.bob.MXID)
		}

		var other network.UserID
		if err := m.Do(ctx, p, func(context.Context) error { other = p.OtherUser; return nil }); err != nil {
			t.Fatal(err)
		}
		if other != "bob-pn" {
			t.Errorf("the portal's other user after the move is %q, want bob-pn", other)
		}
		row, err := dc.db.Portals.Get(ctx, moved)
		if err != nil || row == nil {
			t.Fatalf("the moved portal's row: %v, %v", row, err)
		}
		if row.OtherUser != "bob-pn" {
			t.Errorf("the stored other user after the move is %q, want bob-pn", row.OtherUser)
		}

		var notice id.EventID
		err = m.Do(ctx, p, func(ctx context.Context) (err error) {
			notice, err = p.sendNotice(ctx, &event.MessageEventContent{MsgType: event.MsgNotice, Body: "a notice after the move"})
			return err
		})
		if err != nil {
			t.Fatalf("a notice after the move failed: %v", err)
		}
		var evt *event.Event
		// Dendrite shows alice a new event a moment after it is sent.
		for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(100 * time.Millisecond) {
			if evt, err = dc.alice.Client.GetEvent(ctx, dc.room, notice); err == nil {
				break
			} else if time.Now().After(deadline) {
				t.Fatal(err)
			}
		}
		wantSender := newGhost
		if withBot {
			wantSender = m.matrix.BotMXID()
		}
		if evt.Sender != wantSender {
			t.Errorf("a notice after the move came from %s, want %s", evt.Sender, wantSender)
		}
		if !withBot {
			// The new ghost acts for the bot: it needs the power the
			// user's client gave the old one (to redact, to kick).
			levels := powerLevelsOf(t, dc.alice.Client, dc.room)
			if got, had := levels.GetUserLevel(newGhost), levels.GetUserLevel(dc.bob.MXID); got < 100 {
				t.Errorf("the new ghost's power level is %d, want the old ghost's 100 (it has %d)", got, had)
			}
		}
	})
}

// withAndWithoutBot runs test as two subtests: in a direct chat without
// the bot (newBotlessDirectChat), and in one with it (newBotDirectChat).
func withAndWithoutBot(t *testing.T, test func(t *testing.T, dc *botlessDirectChat, withBot bool)) {
	for _, withBot := range []bool{false, true} {
		name := "without the bot"
		if withBot {
			name = "with the bot"
		}
		t.Run(name, func(t *testing.T) {
			var dc *botlessDirectChat
			if withBot {
				dc = newBotDirectChat(t)
			} else {
				dc = newBotlessDirectChat(t)
			}
			test(t, dc, withBot)
		})
	}
}

// rekeyAndResync moves dc's portal to a new key (its chat with "-pn"),
// with alice in the chat through her login as the bridge has it, and
// has the resync after the move name bob-pn as the other user. It
// returns the new key and bob-pn's ghost.
func rekeyAndResync(t *testing.T, dc *botlessDirectChat) (network.PortalKey, id.UserID) {
	t.Helper()
	ctx := context.Background()
	m := dc.p.m
	dc.aliceInChat(t)
	moved := network.PortalKey{Network: dc.key.Network, Chat: dc.key.Chat + "-pn"}
	if ok, err := m.Rekey(ctx, dc.key, moved); err != nil || !ok {
		t.Fatalf("Rekey: moved %v, %v", ok, err)
	}
	resync := &network.ChatResync{
		Meta: network.Meta{Portal: moved, Timestamp: time.Now()},
		Info: &network.ChatInfo{IsDirect: true, OtherUser: "bob-pn", Members: &network.MemberList{IsFull: true, Members: []network.Member{
			{User: "bob-pn"}, {User: dc.login.RemoteUser, IsMe: true},
		}}},
	}
	if err := bridgeRemote(t, dc.p, dc.login, resync); err != nil {
		t.Fatalf("the resync after the move failed: %v", err)
	}
	return moved, m.ghosts.MXID(network.GhostKey{Network: moved.Network, User: "bob-pn"})
}

// aliceInChat has alice in dc's chat through her login, as the bridge
// has it.
func (dc *botlessDirectChat) aliceInChat(t *testing.T) {
	t.Helper()
	ctx := context.Background()
	if err := dc.db.Logins.Put(ctx, &database.Login{Network: dc.key.Network, ID: dc.login.ID, UserMXID: dc.alice.UserID}); err != nil {
		t.Fatal(err)
	}
	p := dc.p
	if err := p.m.Do(ctx, p, func(ctx context.Context) error { return p.putMember(ctx, dc.alice.UserID, dc.login.ID) }); err != nil {
		t.Fatal(err)
	}
}

// joinedMembers is the room's joined members on the homeserver, sorted,
// read as cli.
func joinedMembers(t *testing.T, cli *mautrix.Client, room id.RoomID) []id.UserID {
	t.Helper()
	var resp mautrix.RespJoinedMembers
	// Not the client's JoinedMembers: it would write the list to a store.
	if _, err := cli.MakeRequest(context.Background(), http.MethodGet, cli.BuildClientURL("v3", "rooms", room, "joined_members"), nil, &resp); err != nil {
		t.Fatal(err)
	}
	users := make([]id.UserID, 0, len(resp.Joined))
	for user := range resp.Joined {
		users = append(users, user)
	}
	slices.Sort(users)
	return users
}
