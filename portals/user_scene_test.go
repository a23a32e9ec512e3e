package portals

import (
	"testing"

	"github.com/rs/zerolog"
	"maunium.net/go/mautrix/appservice"

	"github.com/ferrybridge/ferry/bridge/network"
	"github.com/ferrybridge/ferry/database"
	"github.com/ferrybridge/ferry/internal/dbtest"
	"github.com/ferrybridge/ferry/internal/testbed"
	"github.com/ferrybridge/ferry/puppets"
)

// userScene is a portal manager against a real Dendrite, with one Matrix
// user, alice, logged in to the test network as "alice-phone".
type userScene struct {
	hs     *testbed.Dendrite
	as     *appservice.AppService
	db     *database.Database
	ghosts *puppets.Ghosts
	m      *Manager
	alice  *testbed.Client
	login  *network.Login
}

func newUserScene(t *testing.T) *userScene {
	t.Helper()
	hs, reg := testbed.StartDendriteForAppservice(t)
	return newUserSceneVia(t, hs, reg, hs.URL)
}

// newUserSceneBehindProxy is newUserScene with Ferry reaching Dendrite
// through a fault proxy (the test's users reach it directly).
func newUserSceneBehindProxy(t *testing.T) (*userScene, *testbed.FaultProxy) {
	t.Helper()
	hs, reg := testbed.StartDendriteForAppservice(t)
	proxy := testbed.NewFaultProxy(t, hs.URL)
	return newUserSceneVia(t, hs, reg, proxy.URL()), proxy
}

// newUserSceneVia is newUserScene with Ferry reaching hs at url.
func newUserSceneVia(t *testing.T, hs *testbed.Dendrite, reg *appservice.Registration, url string) *userScene {
	t.Helper()
	as := testbed.NewAppservice(t, reg, url)
	log := zerolog.New(zerolog.NewTestWriter(t)).Level(zerolog.WarnLevel)
	matrix := puppets.NewMatrix(as, log)
	db := dbtest.Open(t, database.DefaultType, dbtest.SQLiteURI(t))
	ghosts := puppets.NewGhosts(db, matrix, "localhost", log)
	alice := hs.RegisterUser(t, "alice", false)
	login := &network.Login{ID: "alice-login", User: alice.UserID, RemoteUser: "alice-phone"}
	dir := &loginDir{logins: map[network.LoginID]*network.Login{}}
	dir.set(login)
	m := NewManager(db, ghosts, matrix, dir, log)
	t.Cleanup(m.cancel)
	return &userScene{hs: hs, as: as, db: db, ghosts: ghosts, m: m, alice: alice, login: login}
}
