package whatsapp

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"go.mau.fi/whatsmeow"
	"go.mau.fi/whatsmeow/types"
	"go.mau.fi/whatsmeow/types/events"

	"github.com/ferrybridge/ferry/bridge/network"
	"github.com/ferrybridge/ferry/database"
	"github.com/ferrybridge/ferry/internal/dbtest"
)

func TestStartUpgradesStoresTwice(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *database.Database) {
		conn, _ := startConnector(t, db.Database, "")
		// A restart finds everything in place.
		if err := conn.Start(context.Background()); err != nil {
			t.Fatalf("second Start: %v", err)
		}
		for _, table := range []string{"whatsmeow_device", "whatsapp_message", "whatsmeow_version", versionTable} {
			var n int
			if err := db.QueryRow(context.Background(), "SELECT COUNT(*) FROM "+table).Scan(&n); err != nil {
				t.Errorf("table %s: %v", table, err)
			}
		}
	})
}

func TestLoadLoginFindsTheDeviceWithoutConnecting(t *testing.T) {
	env := newEnv(t, sqliteDB(t), "")
	if env.cl.device == nil || *env.cl.device.ID != ownDev {
		t.Fatalf("device %+v", env.cl.device)
	}
	select {
	case <-env.wa.connects:
		t.Error("LoadLogin connected")
	default:
	}
	// A session that is gone is reported, not an error at start-up.
	gone := testLogin(env.device)
	gone.ID, gone.Metadata = "4915100000009", json.RawMessage(`{"jid":"4915100000009:3@s.whatsapp.net"}`)
	client, err := env.conn.LoadLogin(env.ctx, gone)
	if err != nil {
		t.Fatal(err)
	}
	client.Connect(env.ctx)
	if st := env.host.lastState(); st.Kind != network.StateLoggedOut || !strings.Contains(st.Message, "send `login whatsapp`") {
		t.Errorf("state %+v", st)
	}
	if _, err = client.Send(env.ctx, &network.OutgoingMessage{OutgoingMeta: outMeta(privatePortal(bobPN, gone.ID)), Content: text("x")}); network.UserMessage(err, "") == "" {
		t.Errorf("send without session: %v", err)
	}
}

func TestConnectReportsSlowConnection(t *testing.T) {
	env := newEnv(t, sqliteDB(t), "connect_timeout: 1s")
	env.cl.Connect(env.ctx)
	defer env.cl.Disconnect()
	waitConnect(t, env.wa)
	env.host.waitState(t, network.StateConnecting, time.Second)
	st := env.host.waitState(t, network.StateTransientDisconnect, 5*time.Second)
	if !strings.Contains(st.Message, "still connecting to WhatsApp after 1s") {
		t.Errorf("state %+v", st)
	}
	env.dispatch(&events.Connected{})
	if st = env.host.lastState(); st.Kind != network.StateConnected {
		t.Errorf("after Connected: %+v", st)
	}
}

// TestLogoutWhenWhatsAppIsUnreachable runs whatsmeow's real Logout, which
// fails without a connection and then deletes nothing: Ferry deletes the
// session itself.
func TestLogoutWhenWhatsAppIsUnreachable(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *database.Database) {
		conn, _ := startConnector(t, db.Database, "")
		device := storeDevice(t, conn, ownDev, ownLID)
		client, err := conn.LoadLogin(context.Background(), testLogin(device))
		if err != nil {
			t.Fatal(err)
		}
		cl := client.(*Client)
		cl.conn.msgs.put(context.Background(), ownLogin, "x@g.us", "M1", msgKey{ChatJID: group, Sender: bobPN})
		err = cl.Logout(context.Background())
		if !strings.Contains(network.UserMessage(err, ""), "Linked devices") {
			t.Errorf("Logout = %v", err)
		}
		if d, err := conn.container.GetDevice(context.Background(), ownDev); err != nil || d != nil {
			t.Errorf("session still stored: %v %v", d, err)
		}
		if k, _ := conn.msgs.get(context.Background(), ownLogin, "x@g.us", "M1"); k != nil {
			t.Error("message keys outlived the login")
		}
		if conn.client(ownLogin) != nil {
			t.Error("logged-out client still registered")
		}
	})
}

func TestChatInfo(t *testing.T) {
	env := newEnv(t, sqliteDB(t), "")
	env.wa.loggedIn.Store(true)
	dana := types.NewJID("4915100000004", types.DefaultUserServer)
	env.wa.groups = map[types.JID]*types.GroupInfo{group: {
		JID:        group,
		GroupName:  types.GroupName{Name: "Climbing"},
		GroupTopic: types.GroupTopic{Topic: "Saturdays"},
		Participants: []types.GroupParticipant{
			{JID: ownLID, PhoneNumber: ownPN, LID: ownLID, IsAdmin: true},
			{JID: bobLID, PhoneNumber: bobPN, LID: bobLID, IsSuperAdmin: true, IsAdmin: true},
			{JID: carlLID, LID: carlLID},
			{JID: dana, IsAdmin: true},
		},
	}}
	env.wa.pictures = map[types.JID]*types.ProfilePictureInfo{group: {ID: "g1", URL: "https://pps.whatsapp.net/g1"}}
	info, err := env.cl.ChatInfo(env.ctx, chatIDOf(group))
	if err != nil {
		t.Fatal(err)
	}
	if *info.Name != "Climbing" || *info.Topic != "Saturdays" || info.IsDirect || info.Avatar == nil || info.Avatar.ID != "g1" || !info.Members.IsFull {
		t.Errorf("group info %+v", info)
	}
	want := []struct {
		user  network.UserID
		me    bool
		level int
	}{{"4915100000001", true, 50}, {"4915100000002", false, 75}, {"lid-300000000003", false, 0}, {"4915100000004", false, 50}}
	for i, w := range want {
		m := info.Members.Members[i]
		if m.User != w.user || m.IsMe != w.me || m.PowerLevel == nil || *m.PowerLevel != w.level {
			t.Errorf("member %d: %+v (level %v), want %+v", i, m, m.PowerLevel, w)
		}
	}
	if _, err = env.cl.ChatInfo(env.ctx, "120363000000000077@g.us"); err == nil {
		t.Error("unknown group gave info")
	}

	info, err = env.cl.ChatInfo(env.ctx, chatIDOf(bobPN))
	if err != nil || !info.IsDirect || info.OtherUser != "4915100000002" || info.Name == nil || *info.Name != "+4915100000002 (WhatsApp)" {
		t.Errorf("DM info %+v, %v", info, err)
	}
}

func TestUserInfoUsesOwnNamesOnly(t *testing.T) {
	env := newEnv(t, sqliteDB(t), "")
	env.wa.loggedIn.Store(true)
	ctx := env.ctx
	contacts := env.device.Contacts
	if err := contacts.PutContactName(ctx, bobPN, "Robert From My Address Book", "Robert"); err != nil {
		t.Fatal(err)
	}
	if _, _, err := contacts.PutPushName(ctx, bobPN, "Bobby"); err != nil {
		t.Fatal(err)
	}
	if err := contacts.PutContactName(ctx, types.NewJID("4915100000005", types.DefaultUserServer), "Eve Private", "Eve"); err != nil {
		t.Fatal(err)
	}
	if _, _, err := contacts.PutPushName(ctx, carlLID, "Carl"); err != nil {
		t.Fatal(err)
	}
	env.wa.pictures = map[types.JID]*types.ProfilePictureInfo{bobPN: {ID: "b7", URL: "https://pps.whatsapp.net/b7"}}
	cases := []struct {
		user   network.UserID
		name   string
		avatar string
	}{
		{"4915100000002", "Bobby (WhatsApp)", "b7"},
		{"4915100000005", "+4915100000005 (WhatsApp)", ""},
		{"lid-300000000003", "Carl (WhatsApp)", ""},
	}
	for _, tc := range cases {
		info, err := env.cl.UserInfo(ctx, tc.user)
		if err != nil || info.Name == nil || *info.Name != tc.name {
			t.Errorf("%s: %+v, %v", tc.user, info, err)
			continue
		}
		if (info.Avatar == nil) != (tc.avatar == "") || (info.Avatar != nil && (info.Avatar.ID != tc.avatar || info.Avatar.Remove)) {
			t.Errorf("%s: avatar %+v", tc.user, info.Avatar)
		}
	}
	// Hidden pictures are unknown, not removed.
	env.wa.pictureErr = whatsmeow.ErrProfilePictureUnauthorized
	if info, _ := env.cl.UserInfo(ctx, "4915100000002"); info.Avatar != nil {
		t.Errorf("unauthorized picture became %+v", info.Avatar)
	}
	// A LID user with nothing known has no name rather than a made-up one.
	if info, _ := env.cl.UserInfo(ctx, "lid-999"); info.Name != nil {
		t.Errorf("unknown LID user named %q", *info.Name)
	}
}

func TestCommands(t *testing.T) {
	env := newEnv(t, sqliteDB(t), "")
	env.wa.loggedIn.Store(true)
	env.wa.groups = map[types.JID]*types.GroupInfo{group: {JID: group, GroupName: types.GroupName{Name: "Climbing"},
		Participants: []types.GroupParticipant{{JID: ownPN}, {JID: bobPN}}}}
	env.wa.onWhatsApp = map[string]types.IsOnWhatsAppResponse{"+4915100000002": {JID: bobPN, PhoneNumber: bobPN, IsIn: true}}
	var replies []string
	cmdEvent := func(raw string) *network.CommandEvent {
		return &network.CommandEvent{
			User: alice, Level: network.LevelUser, Args: strings.Fields(raw), RawArgs: raw,
			Logins: []*network.Login{testLogin(env.device)},
			Client: func(id network.LoginID) (network.Client, bool) { return env.cl, id == ownLogin },
			Reply:  func(md string) { replies = append(replies, md) },
		}
	}
	cmds := map[string]network.Command{}
	for _, c := range env.conn.Commands() {
		cmds[c.Name] = c
		if c.Level != network.LevelUser {
			t.Errorf("%s: level %s", c.Name, c.Level)
		}
	}
	if err := cmds["whatsapp pm"].Handler(env.ctx, cmdEvent("+49 151 00000002")); err != nil {
		t.Fatal(err)
	}
	queued, _ := env.host.take()
	if len(queued) != 1 {
		t.Fatalf("queued %+v", queued)
	}
	if r, ok := queued[0].(*network.ChatResync); !ok || r.Portal != dmPortal(bobPN) || !r.CreatePortal {
		t.Errorf("pm queued %+v", queued[0])
	}
	if err := cmds["whatsapp pm"].Handler(env.ctx, cmdEvent("+4915100000077")); !strings.Contains(network.UserMessage(err, ""), "not on WhatsApp") {
		t.Errorf("pm to a stranger: %v", err)
	}
	if err := cmds["whatsapp pm"].Handler(env.ctx, cmdEvent("bob")); !strings.Contains(network.UserMessage(err, ""), "usage") {
		t.Errorf("pm without number: %v", err)
	}
	if err := cmds["whatsapp sync"].Handler(env.ctx, cmdEvent("")); err != nil {
		t.Fatal(err)
	}
	queued, _ = env.host.take()
	if len(queued) != 1 {
		t.Fatalf("sync queued %+v", queued)
	}
	if r, ok := queued[0].(*network.ChatResync); !ok || r.Portal != groupPortal(group) || !r.CreatePortal || *r.Info.Name != "Climbing" {
		t.Errorf("sync queued %+v", queued[0])
	}
	if len(replies) < 2 || !strings.Contains(replies[len(replies)-1], "Syncing 1 WhatsApp groups") {
		t.Errorf("replies %q", replies)
	}
	env.wa.loggedIn.Store(false)
	if err := cmds["whatsapp sync"].Handler(env.ctx, cmdEvent("")); !strings.Contains(network.UserMessage(err, ""), "not connected") {
		t.Errorf("sync while disconnected: %v", err)
	}
}
