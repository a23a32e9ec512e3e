package portals

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"
	"maunium.net/go/mautrix/appservice"
	"maunium.net/go/mautrix/event"

	"github.com/ferrybridge/ferry/bridge/network"
	"github.com/ferrybridge/ferry/database"
	"github.com/ferrybridge/ferry/puppets"
)

// matrixAt is a gateway for an appservice whose homeserver is at url.
func matrixAt(t *testing.T, url string) *puppets.Matrix {
	t.Helper()
	reg := appservice.CreateRegistration()
	reg.AppToken, reg.ServerToken, reg.SenderLocalpart = "as-token", "hs-token", "ferry"
	as, err := appservice.CreateFull(appservice.CreateOpts{Registration: reg, HomeserverDomain: "example.org", HomeserverURL: url})
	if err != nil {
		t.Fatal(err)
	}
	return puppets.NewMatrix(as, zerolog.Nop())
}

// stubRoomPortal is a portal whose room, !ferry:example.org, the bot is
// in already, against a stand-in homeserver that answers every event
// sent with send (given the event's body) and anything else with
// M_NOT_FOUND. logins are the directory's.
func stubRoomPortal(t *testing.T, db *database.Database, send func(w http.ResponseWriter, r *http.Request, body string), logins ...*network.Login) *Portal {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		if r.Method != http.MethodPut || !strings.Contains(r.URL.Path, "/send/") {
			w.WriteHeader(http.StatusNotFound)
			_, _ = io.WriteString(w, `{"errcode":"M_NOT_FOUND","error":"no"}`)
			return
		}
		var content struct{ Body string }
		body, _ := io.ReadAll(r.Body)
		_ = json.Unmarshal(body, &content)
		send(w, r, content.Body)
	}))
	t.Cleanup(srv.Close)
	matrix := matrixAt(t, srv.URL)
	matrix.RetryFor = 2 * time.Second
	ctx := context.Background()
	if err := matrix.AS.StateStore.MarkRegistered(ctx, matrix.BotMXID()); err != nil {
		t.Fatal(err)
	}
	if err := matrix.AS.StateStore.SetMembership(ctx, "!ferry:example.org", matrix.BotMXID(), event.MembershipJoin); err != nil {
		t.Fatal(err)
	}
	key := network.PortalKey{Network: "test", Chat: "#ferry"}
	if err := db.Portals.Put(ctx, &database.Portal{Key: key, RoomID: "!ferry:example.org"}); err != nil {
		t.Fatal(err)
	}
	dir := &loginDir{logins: map[network.LoginID]*network.Login{}}
	for _, login := range logins {
		dir.logins[login.ID] = login
	}
	m := NewManager(db, nil, matrix, dir, zerolog.Nop())
	t.Cleanup(m.cancel)
	p, err := m.Get(ctx, key)
	if err != nil {
		t.Fatal(err)
	}
	return p
}
