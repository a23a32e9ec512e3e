package database_test

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"maunium.net/go/mautrix/id"

	"github.com/ferrybridge/ferry/bridge/network"
	"github.com/ferrybridge/ferry/database"
	"github.com/ferrybridge/ferry/internal/pgtest"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

var ctx = context.Background()

// ms returns a time that survives the millisecond round trip unchanged, so
// tests can compare stored rows with reflect.DeepEqual.
func ms(v int64) time.Time { return time.UnixMilli(v) }

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

var (
	waPortal  = network.PortalKey{Network: "whatsapp", Chat: "123@g.us", Receiver: "alice-login"}
	ircPortal = network.PortalKey{Network: "irc", Chat: "libera/#ferry"}
)

// putLogin stores a login on net with an owner derived from its ID.
func putLogin(t *testing.T, db *database.Database, net network.NetworkID, login network.LoginID, user id.UserID) *database.Login {
	t.Helper()
	l := &database.Login{Network: net, ID: login, UserMXID: user, CreatedAt: ms(1000)}
	must(t, db.Logins.Put(ctx, l))
	return l
}

// putPortal stores a minimal portal so that rows referencing it can be put.
func putPortal(t *testing.T, db *database.Database, key network.PortalKey, room id.RoomID) *database.Portal {
	t.Helper()
	p := &database.Portal{Key: key, RoomID: room, CreatedAt: ms(1000)}
	must(t, db.Portals.Put(ctx, p))
	return p
}

// putMessage stores one message part.
func putMessage(t *testing.T, db *database.Database, key network.PortalKey, msgID network.MessageID, part network.PartID, evt id.EventID, tsMilli int64) *database.Message {
	t.Helper()
	m := &database.Message{
		Portal: key, ID: msgID, Part: part, EventID: evt, RoomID: "!room:example.org",
		Sender: "bob", SenderMXID: "@whatsapp_bob:example.org", Timestamp: ms(tsMilli),
	}
	must(t, db.Messages.Put(ctx, m))
	return m
}

func jsonEqual(t *testing.T, got json.RawMessage, want string) {
	t.Helper()
	var g, w any
	if err := json.Unmarshal(got, &g); err != nil {
		t.Fatalf("stored JSON %q does not parse: %v", got, err)
	}
	must(t, json.Unmarshal([]byte(want), &w))
	gb, _ := json.Marshal(g)
	wb, _ := json.Marshal(w)
	if string(gb) != string(wb) {
		t.Errorf("JSON = %s, want %s", got, want)
	}
}
